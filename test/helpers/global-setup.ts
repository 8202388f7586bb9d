/** Runs once before the suite: says how the network is isolated, so a reader of the log knows. */
import { inLoopbackOnlyNamespace } from "./netns.ts";

export default function setup(): void {
  if (!inLoopbackOnlyNamespace()) {
    process.stderr.write(
      "[tests] not inside a loopback-only network namespace (run `npm test`); peers use loopback-only ICE settings\n",
    );
  }
}
