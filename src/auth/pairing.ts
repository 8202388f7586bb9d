/** What a person is shown to pair a browser: a link, its QR code for a phone, and the owner password. */
import { randomInt } from "node:crypto";
import QRCode from "qrcode";

/** `https://host:port/pair#code=…`: the code in the fragment never reaches a server log or a Referer. */
export function pairingUrl(base: string, secret: string): string {
  return `${base.replace(/\/+$/, "")}/pair#code=${encodeURIComponent(secret)}`;
}

/** The QR code of `text` drawn with block characters, for a terminal. */
export async function terminalQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: "terminal", small: true, errorCorrectionLevel: "L" });
}

/** Letters and digits a person cannot confuse (no 0/O, 1/l/I). */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789";

/** A password a person can type: 5 groups of 4 (about 99 bits). */
export function newPassword(): string {
  const groups: string[] = [];
  for (let g = 0; g < 5; g++) {
    let group = "";
    for (let i = 0; i < 4; i++) group += ALPHABET[randomInt(ALPHABET.length)];
    groups.push(group);
  }
  return groups.join("-");
}
