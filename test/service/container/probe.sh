#!/bin/bash
# Runs inside the container as root, with systemd as PID 1: installs the service the way an owner
# does, waits for the device to serve, checks it from outside, stops it, uninstalls it. Every finding
# goes to /results for the test to judge.
exec >/results/probe.log 2>&1
set -x
cd "$SOURCE"
# Waits until the device has registered with its signalling server N times in all (one per start).
registered() {
  for _ in $(seq 1 90); do
    (($(journalctl -u device-rtc --no-pager -o cat | grep -c 'registered as producer') >= $1)) && return 0
    sleep 1
  done
  return 1
}
# The README's second command, `sudo npx device-rtc service install`, with the environment sudo gives root.
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root npx device-rtc service install
echo $? >/results/install.status
registered 1
"$SOURCE/bin/device-rtc.js" service status >/results/status.txt
echo $? >/results/status.status
systemctl show device-rtc -p ActiveState -p SubState -p NRestarts >/results/running.txt
main=$(systemctl show device-rtc -p MainPID --value)
ps -o user= -p "$main" >/results/main-user.txt
ps -o user=,args= --ppid "$main" >/results/children.txt
node -e '
  require("node:https").get({ host: "127.0.0.1", port: 8443, path: "/ca.crt", rejectUnauthorized: false }, (res) => {
    let body = ""; res.on("data", (c) => (body += c)); res.on("end", () => { process.stdout.write(`${res.statusCode}\n${body}`); });
  }).on("error", (e) => { process.stdout.write(`error ${e.message}\n`); });
' >/results/ca-over-https.txt
ls -l /var/lib/device-rtc/pki/ca.crt >/results/ca-file.txt 2>&1
id device-rtc >/results/id.txt

# A crash is followed by a restart (Restart=on-failure, RestartSec=5)...
kill -KILL "$main"
registered 2
systemctl show device-rtc -p ActiveState -p NRestarts >/results/after-crash.txt
main=$(systemctl show device-rtc -p MainPID --value)
for pid in $(pgrep -u device-rtc gst-launch-1.0); do  # every pipeline belongs to the new process
  [[ $(ps -o ppid= -p "$pid" | tr -d ' ') == "$main" ]] || ps -o pid=,ppid=,args= -p "$pid"
done >/results/orphans-after-crash.txt

# ...but a configuration error is not (exit status 2, RestartPreventExitStatus=2).
cp /etc/device-rtc/config.yaml /tmp/config.yaml
echo "port: eighty" >>/etc/device-rtc/config.yaml
systemctl restart device-rtc
for _ in $(seq 1 30); do [[ $(systemctl is-failed device-rtc) == failed ]] && break; sleep 1; done
sleep 6 # longer than RestartSec: a restart would have happened by now
systemctl show device-rtc -p ActiveState -p ExecMainStatus -p NRestarts >/results/config-error.txt
journalctl -u device-rtc --no-pager -o cat | grep 'config file' >/results/config-error-message.txt
cp /tmp/config.yaml /etc/device-rtc/config.yaml
systemctl reset-failed device-rtc
systemctl start device-rtc
registered 3
systemctl is-active device-rtc >/results/fixed.txt
systemctl stop device-rtc
echo $? >/results/stop.status
systemctl show device-rtc -p ActiveState -p Result >/results/stopped.txt
pgrep -u device-rtc -a >/results/leftover.txt
journalctl -u device-rtc --no-pager -o cat >/results/journal.txt
"$SOURCE/bin/device-rtc.js" service uninstall
echo $? >/results/uninstall.status
ls /etc/systemd/system/device-rtc.service /opt/device-rtc >/results/after-uninstall.txt 2>&1
echo done >/results/done
