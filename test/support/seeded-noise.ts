/**
 * Seeded Gaussian noise for the detection tests: the same seed gives the same samples on every
 * machine (Box–Muller over a plain integer generator). Two generators, because tests written
 * against each keep their measured figures.
 */

/** Standard normal samples over a 31-bit LCG (multiplier 1103515245, increment 12345). */
export function lcgGaussian(seed: number): () => number {
  let s = seed;
  const u = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  return () => {
    let a = u();
    while (a === 0) a = u();
    return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
  };
}

/** Standard normal samples over the Lehmer (MINSTD, 48271) generator. */
export function lehmerGaussian(seed: number): () => number {
  let x = seed;
  const u = () => (x = (x * 48271) % 2147483647) / 2147483647;
  return () => Math.sqrt(-2 * Math.log(u() || 1e-12)) * Math.cos(2 * Math.PI * u());
}
