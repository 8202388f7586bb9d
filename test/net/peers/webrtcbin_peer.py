"""A GStreamer webrtcbin peer for the tests: the way GStreamer applications (webrtcsink, webrtcsrc, a
plain webrtcbin app) talk to the device.

    /usr/bin/python3 webrtcbin_peer.py sender --name NAME [--no-ssrc]
    /usr/bin/python3 webrtcbin_peer.py viewer --producer NAME

It speaks the signalling protocol (gst-webrtc-signalling-server JSON) over stdin/stdout, one message
per line prefixed "SIG " (test/helpers/webrtcbin.ts carries those lines to and from the WebSocket),
and prints "REPORT {json}" lines about what it decodes.

- sender: a producer offering VP8 + Opus with bundle-policy=max-bundle, as webrtcsink does (every
  m-line after the first has port 0 and a=bundle-only). A moving ball and a 600 Hz tone.
  --no-ssrc removes the a=ssrc lines from the offer, as a plain webrtcbin application's may lack them.
  --no-audio-packets negotiates audio but never sends a packet of it (a broken sender).
  --drop-keyframes N: the video has no periodic keyframes, and its first N keyframes (the first one,
  then the answers to keyframe requests) are lost before they are sent.
- viewer: consumes the producer called NAME (the device offers) and decodes what arrives; every
  second it reports decoded video frames (with their size) and audio buffers (with their RMS).
"""

import argparse
import json
import math
import struct
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC  # noqa: E402

Gst.init(None)


def emit(prefix, obj):
    sys.stdout.write(f"{prefix} {json.dumps(obj)}\n")
    sys.stdout.flush()


def log(*args):
    print(*args, file=sys.stderr, flush=True)


class Peer:
    def __init__(self, args):
        self.args = args
        self.session = None
        self.pipe = None
        self.webrtc = None
        self.pending_ice = []
        self.video_frames = 0
        self.video_size = None
        self.audio_buffers = 0
        self.audio_rms = 0.0
        self.started = None
        self.loop = GLib.MainLoop()
        GLib.io_add_watch(sys.stdin.fileno(), GLib.IO_IN | GLib.IO_HUP, self.on_stdin)
        self.buffer = b""

    # ---- signalling ----
    def send(self, message):
        emit("SIG", message)

    def on_stdin(self, fd, condition):
        import os

        data = os.read(fd, 65536)
        if not data:
            self.loop.quit()
            return False
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            if line.strip():
                self.on_message(json.loads(line))
        return True

    def on_message(self, msg):
        kind = msg.get("type")
        if kind == "welcome":
            if self.args.mode == "sender":
                self.send({"type": "setPeerStatus", "roles": ["producer"], "meta": {"name": self.args.name}})
            else:
                self.send({"type": "setPeerStatus", "roles": [], "meta": {"name": "webrtcbin-viewer"}})
                self.send({"type": "list"})
        elif kind == "list" and self.args.mode == "viewer":
            for producer in msg.get("producers", []):
                if (producer.get("meta") or {}).get("name") == self.args.producer:
                    self.started = time.monotonic()
                    self.send({"type": "startSession", "peerId": producer["id"]})
                    return
            GLib.timeout_add(200, lambda: self.send({"type": "list"}) and False)
        elif kind == "sessionStarted":
            self.session = msg["sessionId"]
            self.build_viewer()
        elif kind == "startSession" and self.args.mode == "sender":
            self.session = msg["sessionId"]
            self.build_sender()
        elif kind == "peer" and msg.get("sessionId") == self.session:
            if "sdp" in msg:
                self.on_remote_sdp(msg["sdp"])
            elif "ice" in msg:
                ice = msg["ice"]
                if ice.get("candidate"):
                    self.webrtc.emit("add-ice-candidate", ice.get("sdpMLineIndex", 0), ice["candidate"])
        elif kind == "endSession":
            emit("REPORT", {"ended": True})
        elif kind == "error":
            log("signalling error", msg)

    # ---- webrtcbin ----
    def make_webrtc(self):
        self.webrtc = self.pipe.get_by_name("webrtc")
        self.webrtc.connect("on-ice-candidate", self.on_ice_candidate)
        self.webrtc.connect("pad-added", self.on_pad_added)
        self.webrtc.connect("notify::ice-connection-state", self.on_state)
        self.webrtc.connect("notify::connection-state", self.on_state)

    def on_state(self, webrtc, pspec):
        emit("REPORT", {"state": pspec.name, "value": webrtc.get_property(pspec.name).value_nick})

    def on_ice_candidate(self, webrtc, mline, candidate):
        self.send({"type": "peer", "sessionId": self.session, "ice": {"candidate": candidate, "sdpMLineIndex": mline}})

    def on_encoded(self, pad, info):
        buffer = info.get_buffer()
        if buffer.has_flags(Gst.BufferFlags.DELTA_UNIT):
            return Gst.PadProbeReturn.OK
        if self.dropped_keyframes < self.args.drop_keyframes:
            self.dropped_keyframes += 1
            emit("REPORT", {"droppedKeyframes": self.dropped_keyframes})
            return Gst.PadProbeReturn.DROP
        emit("REPORT", {"keyframeSent": True})
        return Gst.PadProbeReturn.OK

    def build_sender(self):
        # Only requested keyframes when keyframes are being lost (else one every second).
        keyframe_distance = 100000 if self.args.drop_keyframes else 30
        self.pipe = Gst.parse_launch(
            "webrtcbin name=webrtc bundle-policy=max-bundle "
            "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=30/1 ! "
            f"videoconvert ! vp8enc name=venc deadline=1 cpu-used=8 keyframe-max-dist={keyframe_distance} ! "
            "rtpvp8pay pt=96 ! "
            "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000 ! webrtc. "
            "audiotestsrc is-live=true wave=sine freq=600 volume=0.5 ! audioconvert ! audioresample ! "
            f"opusenc ! rtpopuspay pt=97 ! identity drop-probability={'1.0' if self.args.no_audio_packets else '0.0'} ! "
            "application/x-rtp,media=audio,encoding-name=OPUS,payload=97,clock-rate=48000 ! webrtc. "
        )
        if self.args.drop_keyframes:
            self.dropped_keyframes = 0
            pad = self.pipe.get_by_name("venc").get_static_pad("src")
            pad.add_probe(Gst.PadProbeType.BUFFER, self.on_encoded)
        self.make_webrtc()
        self.webrtc.connect("on-negotiation-needed", self.on_negotiation_needed)
        self.pipe.set_state(Gst.State.PLAYING)

    def on_negotiation_needed(self, webrtc):
        promise = Gst.Promise.new_with_change_func(self.on_offer_created, None)
        webrtc.emit("create-offer", None, promise)

    def on_offer_created(self, promise, _):
        # Keep the reply referenced while its description is used: a temporary Gst.Structure is
        # freed at once by PyGObject, and the description with it.
        promise.wait()
        reply = promise.get_reply()
        offer = reply.get_value("offer")
        self.webrtc.emit("set-local-description", offer, Gst.Promise.new())
        sdp = offer.sdp.as_text()
        if self.args.no_ssrc:
            sdp = "".join(
                line + "\r\n"
                for line in sdp.split("\r\n")
                if line and not line.startswith(("a=ssrc:", "a=ssrc-group:", "a=msid:"))
            )
        emit("REPORT", {"offer": sdp})
        self.send({"type": "peer", "sessionId": self.session, "sdp": {"type": "offer", "sdp": sdp}})

    def build_viewer(self):
        self.pipe = Gst.Pipeline.new("viewer")
        self.pipe.add(Gst.ElementFactory.make("webrtcbin", "webrtc"))
        self.pipe.get_by_name("webrtc").set_property("bundle-policy", "max-bundle")
        self.make_webrtc()
        self.pipe.set_state(Gst.State.PLAYING)
        GLib.timeout_add(1000, self.report)

    def on_remote_sdp(self, sdp):
        ok, parsed = GstSdp.SDPMessage.new_from_text(sdp["sdp"])
        if sdp["type"] == "answer":
            answer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.ANSWER, parsed)
            self.webrtc.emit("set-remote-description", answer, Gst.Promise.new())
            return
        offer = GstWebRTC.WebRTCSessionDescription.new(GstWebRTC.WebRTCSDPType.OFFER, parsed)

        def on_remote_set(promise, _):
            promise2 = Gst.Promise.new_with_change_func(self.on_answer_created, None)
            self.webrtc.emit("create-answer", None, promise2)

        self.webrtc.emit("set-remote-description", offer, Gst.Promise.new_with_change_func(on_remote_set, None))

    def on_answer_created(self, promise, _):
        promise.wait()
        reply = promise.get_reply()
        answer = reply.get_value("answer")
        self.webrtc.emit("set-local-description", answer, Gst.Promise.new())
        self.send({"type": "peer", "sessionId": self.session, "sdp": {"type": "answer", "sdp": answer.sdp.as_text()}})

    def on_pad_added(self, webrtc, pad):
        if pad.direction != Gst.PadDirection.SRC:
            return
        decode = Gst.ElementFactory.make("decodebin")
        decode.connect("pad-added", self.on_decoded_pad)
        self.pipe.add(decode)
        decode.sync_state_with_parent()
        pad.link(decode.get_static_pad("sink"))

    def on_decoded_pad(self, decodebin, pad):
        caps = pad.get_current_caps() or pad.query_caps(None)
        name = caps.get_structure(0).get_name()
        if name.startswith("video"):
            chain = "videoconvert ! video/x-raw,format=I420 ! fakesink name=vsink signal-handoffs=true sync=false"
        else:
            chain = "audioconvert ! audio/x-raw,format=S16LE,channels=1 ! fakesink name=asink signal-handoffs=true sync=false"
        bin_ = Gst.parse_bin_from_description(chain, True)
        self.pipe.add(bin_)
        bin_.sync_state_with_parent()
        pad.link(bin_.get_static_pad("sink"))
        sink = bin_.get_by_name("vsink" if name.startswith("video") else "asink")
        if name.startswith("video"):
            sink.connect("handoff", self.on_video)
        else:
            sink.connect("handoff", self.on_audio)

    def on_video(self, sink, buf, pad):
        if self.video_frames == 0 and self.started is not None:
            # From startSession to the first decoded frame (what the benchmark calls first frame).
            emit("REPORT", {"firstFrameMs": (time.monotonic() - self.started) * 1000})
        self.video_frames += 1
        if self.video_size is None:
            s = pad.get_current_caps().get_structure(0)
            self.video_size = [s.get_value("width"), s.get_value("height")]

    def on_audio(self, sink, buf, pad):
        self.audio_buffers += 1
        ok, info = buf.map(Gst.MapFlags.READ)
        if ok:
            n = len(info.data) // 2
            if n:
                samples = struct.unpack(f"<{n}h", info.data[: n * 2])
                self.audio_rms = math.sqrt(sum(s * s for s in samples) / n) / 32768
            buf.unmap(info)

    def report(self):
        emit(
            "REPORT",
            {
                "videoFrames": self.video_frames,
                "videoSize": self.video_size,
                "audioBuffers": self.audio_buffers,
                "audioRms": self.audio_rms,
            },
        )
        return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["sender", "viewer"])
    parser.add_argument("--name", default="webrtcbin-sender")
    parser.add_argument("--producer")
    parser.add_argument("--no-ssrc", action="store_true")
    parser.add_argument("--no-audio-packets", action="store_true")
    parser.add_argument("--drop-keyframes", type=int, default=0)
    peer = Peer(parser.parse_args())
    try:
        peer.loop.run()
    finally:
        if peer.pipe:
            peer.pipe.set_state(Gst.State.NULL)


main()
