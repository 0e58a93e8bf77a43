import type { CodecOverrides } from "../grpc/index.js";
import * as sc from "./score-codec.js";

/**
 * Score and ScoreBatch use the hand-written codec of score-codec.ts (plain port types on both
 * sides, ~20x cheaper than reflective protobuf-es for windows of doubles).
 */
export const scoreCodecs: CodecOverrides = {
  Score: {
    requestSerialize: (r) => sc.encodeScoreRequest(r as never),
    requestDeserialize: (b) => sc.decodeScoreRequest(b),
    responseSerialize: (r) => sc.encodeScoreResponse(r as never),
    responseDeserialize: (b) => sc.decodeScoreResponse(b),
  },
  ScoreBatch: {
    requestSerialize: (r) => sc.encodeScoreBatchRequest(r as never),
    requestDeserialize: (b) => sc.decodeScoreBatchRequest(b),
    responseSerialize: (r) => sc.encodeScoreBatchResponse(r as never),
    responseDeserialize: (b) => sc.decodeScoreBatchResponse(b),
  },
};
