/**
 * Built-in prompt set (version `v1` of each operation, answered by `local`). Switching an
 * operation to an LLM is a config change: add a model and point a version (or a split) at it.
 */

const version = (model: string, system: string, user: string, maxTokens = 300) => ({
  model,
  system,
  user,
  temperature: 0,
  maxTokens,
  fallback: [] as string[],
});

export const defaultPrompts = {
  score: {
    versions: {
      v1: version(
        "local",
        "You score anomalies in IoT sensor data. Answer with JSON {\"score\": number in [0,1]}.",
        "Device {{deviceId}}, metric {{metric}}. Recent values (oldest first): {{values}}. How anomalous is the last value?",
        20,
      ),
    },
    split: { v1: 100 },
  },
  explain: {
    versions: {
      v1: version(
        "local",
        "You are a reliability engineer explaining anomalies in IoT sensor data. Be concrete and brief. " +
          "Answer with JSON {\"summary\": string, \"likelyCause\": string, \"suggestedAction\": string}.",
        "Device {{deviceId}}, metric {{metric}}, anomaly score {{score}}.\n" +
          "Window stats: last={{last}} median={{median}} min={{min}} max={{max}} deviation={{deviation}} sigma.\n" +
          "Recent values (oldest first): {{values}}\nContext: {{context}}",
      ),
    },
    split: { v1: 100 },
  },
  embed: {
    versions: { v1: version("local", "", "{{text}}") },
    split: { v1: 100 },
  },
  summarize: {
    versions: {
      v1: version(
        "local",
        "You write short operational reports for IoT fleets: what happened, where, what to do.",
        "Report: {{title}}\nItems ({{count}}):\n{{items}}",
        600,
      ),
    },
    split: { v1: 100 },
  },
};
