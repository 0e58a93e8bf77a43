/**
 * A small lexicon of what operators of devices say, for the `local` text embedding: words that mean
 * the same thing here map to one concept token, so a paraphrase ("overheating burst" for "temperature
 * rose sharply") lands near the text it paraphrases even without a learned model. Matching is by
 * word prefix (stems), lowercase. Offline and deterministic; a real embedding model does this far
 * better (configure a provider: docs/adr/0005-model-gateway.md).
 */
const CONCEPTS: Readonly<Record<string, readonly string[]>> = {
  up: ["rise", "rose", "risen", "rising", "increas", "jump", "spike", "spiking", "surg", "climb", "higher", "high", "soar", "peak", "burst", "grew", "grow", "elevat"],
  down: ["fell", "fall", "drop", "dip", "decreas", "lower", "low", "plung", "declin", "sank", "sink", "dropout"],
  temperature: ["temp", "heat", "hot", "therm", "overheat", "warm", "celsius", "cool", "cold"],
  humidity: ["humid", "moist", "damp", "wet", "dew"],
  pressure: ["pressur", "psi", "bar", "kpa"],
  vibration: ["vibrat", "shak", "oscillat", "rattl"],
  power: ["power", "volt", "batter", "electr", "outage", "current", "amp", "mains"],
  stuck: ["stuck", "frozen", "freez", "constant", "flat", "unchang", "static", "hung"],
  noise: ["nois", "erratic", "jitter", "fluctuat", "unstable", "glitch", "interfer"],
  shift: ["shift", "step", "sustain", "level", "persist", "new baseline", "plateau"],
  drift: ["drift", "gradual", "slow", "creep", "wear", "calibrat", "fouling"],
  sudden: ["sudden", "abrupt", "sharp", "transient", "brief", "momentary", "short"],
  fault: ["fault", "fail", "error", "broken", "malfunction", "defect", "alarm"],
  check: ["check", "inspect", "verif", "investigat", "examin", "look into", "review"],
  restart: ["restart", "reboot", "reset", "power cycl"],
  connectivity: ["connect", "network", "offline", "link", "signal", "wifi", "disconnect"],
  sensor: ["sensor", "probe", "gauge", "meter", "transducer", "reading"],
};

const PREFIXES: ReadonlyArray<readonly [string, string]> = Object.entries(CONCEPTS)
  .flatMap(([concept, stems]) => stems.map((s) => [s, concept] as const))
  .sort((a, b) => b[0].length - a[0].length);

/** Concept tokens (`k:<concept>`) of the words of a normalised text, once per word that matches. */
export function conceptTokens(words: readonly string[]): string[] {
  const out: string[] = [];
  for (const w of words) {
    for (const [stem, concept] of PREFIXES) {
      if (w.startsWith(stem)) {
        out.push(`k:${concept}`);
        break;
      }
    }
  }
  return out;
}
