/** The KDS options with every request counted, and the verdict's 'network' field describing them. */
import type { KdsOptions } from '../kds.ts';

export interface MeteredKds {
  /** The caller's KDS options with a counting fetch; undefined without `kds`. */
  kds: KdsOptions | undefined;
  /** The 'network' field of the verdict (requests made so far). */
  networkField: () => Record<string, unknown>;
}

/** Network only through `kds` (VCEK or CRL from AMD KDS); every request is counted for the verdict. */
export function meteredKds(optsKds: KdsOptions | undefined): MeteredKds {
  const network = { requests: [] as string[] };
  let kds: KdsOptions | undefined;
  if (optsKds) {
    const f = optsKds.fetch ?? (globalThis.fetch as unknown as KdsOptions['fetch']);
    kds = { ...optsKds };
    if (f)
      kds.fetch = (url, init) => {
        network.requests.push(url);
        return f(url, init);
      };
  }
  const networkField = () =>
    network.requests.length > 0
      ? { used: true, detail: `${network.requests.length} request(s) to AMD KDS`, requests: network.requests }
      : {
          used: false,
          detail: optsKds
            ? optsKds.offline
              ? 'no network used (KDS offline: cache only)'
              : 'no network used (KDS answers came from the cache)'
            : 'no network used',
        };
  return { kds, networkField };
}
