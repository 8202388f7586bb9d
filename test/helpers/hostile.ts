/**
 * Names an attacker would register under (a `meta.name`), for every path a name takes: overlays,
 * recording file names, logs, the signalling server's `list`, the page. Each is [what it tries, the name].
 */
export const HOSTILE_NAMES: ReadonlyArray<readonly [string, string]> = [
  [
    "a quote that ends the property and adds elements",
    `a" ! fakesink dataurisrc uri=data:,pwned ! filesink location=/tmp/device-rtc-pwned videotestsrc ! textoverlay name="z`,
  ],
  ["single quotes", "it's 'quoted'"],
  ["backslashes", 'back\\slash\\\\ \\" \\042'],
  ["a trailing backslash", "ends with \\"],
  ["gst-launch syntax", "a ! b = c { } ( ) ; , . : @preset=x"],
  ["property syntax", "x location=/tmp/device-rtc-pwned"],
  ["newlines and a fake log line", 'line1\n{"level":"error","msg":"forged"}\r\nline3'],
  ["NUL", "nul\u0000byte"],
  ["200 kB", "x".repeat(200_000)],
  ["a relative path", "../../../../tmp/device-rtc-pwned"],
  ["an absolute path", "/tmp/device-rtc-pwned"],
  ["dots only", ".."],
  ["bidi override", "\u202Egnp.exe"],
  ["bidi isolates and marks", "\u2066abc\u2069\u200F\u061C"],
  ["zero-width and combining", "a\u200Bb\u0301c\uFEFF"],
  ["HTML that runs script", `<img src=x onerror="window.pwned=1">`],
  ["a closing quote and a script element", `"><script>window.pwned=2</script>`],
  ["a closing tag and a javascript: link", `</li><li><a href="javascript:window.pwned=3">click</a>`],
  ["4,000 characters (a meta just under 4 KiB)", "W".repeat(4000)],
  ["Pango markup", '<span size="99999" foreground="red">BIG</span> &amp; <b>'],
  ["the literal NULL", "NULL"],
  ["emoji and CJK", "😀 手机"],
  ["a lone surrogate", "\ud800x"],
  ["shell and printf", "$(touch /tmp/device-rtc-pwned) `id` %s%n"],
  ["only white space and controls", " \t\u0007\u001b[31m "],
];
