export type * from "./clock.js";
export type * from "./reading.js";
export type * from "./actor.js";
export type * from "./row-sink.js";
export type * from "./actor-host.js";
export type * from "./journal.js";
