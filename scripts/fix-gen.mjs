// Post-processing hook for generated code (kept as a no-op seam so `npm run gen` is one command).
// Generated files in src/gen are never edited by hand.
