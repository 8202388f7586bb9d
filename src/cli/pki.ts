/** `device-rtc pki`: the certificate authority that makes HTTPS/WSS on a LAN trusted. */
import { Command } from "commander";
import { defaultServerNames, initPki, issueServer } from "../pki/PkiStore.ts";
import { defaultDataDir } from "./paths.ts";

const collect = (value: string, previous: string[]) => [...previous, value];

export function pkiCommand(): Command {
  const pki = new Command("pki").description(
    "Create the certificate authority and server certificates for HTTPS/WSS.",
  );
  pki
    .command("init")
    .description(
      "Create a CA (10 years) and a server certificate for the given names plus this host's name, " +
        "<hostname>.local, localhost, 127.0.0.1 and the LAN addresses.",
    )
    .option("--dir <DIR>", "where to write the files", `${defaultDataDir()}/pki`)
    .option(
      "--name <HOST>",
      "another name or address for the server certificate (repeatable)",
      collect,
      [] as string[],
    )
    .option("--force", "replace an existing CA", false)
    .action((flags: { dir: string; name: string[]; force: boolean }) => {
      const names = defaultServerNames(flags.name);
      const paths = initPki(flags.dir, names, { force: flags.force });
      process.stdout.write(
        [
          `Created a certificate authority in ${paths.dir}:`,
          `  ${paths.caCertificate}        the CA certificate: trust it once on every phone and computer (see docs/TRUSTING-THE-CA.md)`,
          `  ${paths.caKey}        the CA's private key: keep it secret`,
          `  ${paths.server.chain}  certificate chain (PEM), with ${paths.server.key}`,
          `  ${paths.server.pkcs12}       the same as PKCS#12; its password is in ${paths.server.pkcs12Password}`,
          `The server certificate covers: ${names.join(", ")}`,
          "",
          `  device-rtc signalling --cert ${paths.server.chain} --key ${paths.server.key}`,
          `  gst-webrtc-signalling-server --cert ${paths.server.chain} --key ${paths.server.key}   (0.14.2 and later)`,
          "",
        ].join("\n"),
      );
    });
  pki
    .command("issue")
    .description("Issue another server certificate from the same CA (files named after the first --name).")
    .requiredOption(
      "--name <HOST>",
      "a name or address the certificate covers (repeatable)",
      collect,
      [] as string[],
    )
    .option("--dir <DIR>", "the CA's directory", `${defaultDataDir()}/pki`)
    .option("--force", "replace an existing certificate of that name", false)
    .action((flags: { dir: string; name: string[]; force: boolean }) => {
      const base = (flags.name[0] ?? "server").replace(/[^A-Za-z0-9.-]+/g, "_");
      const identity = issueServer(flags.dir, flags.name, base, { force: flags.force });
      process.stdout.write(
        [
          `Issued a certificate for ${flags.name.join(", ")}:`,
          `  ${identity.chain} and ${identity.key} (PEM)`,
          `  ${identity.pkcs12} (PKCS#12; password in ${identity.pkcs12Password})`,
          "",
        ].join("\n"),
      );
    });
  return pki;
}
