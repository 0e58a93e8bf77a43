#!/usr/bin/python3
"""A QueryService client written with Debian's python3-grpcio and python3-protobuf only: message
classes come from the descriptor set `buf build` writes (no generated code of ours). Prints one JSON
object per call on stdout; the test asserts on them.

usage: query_client.py ADDRESS DESCRIPTOR_SET unary|watch-slow|watch-coalesced DEVICE ..."""
import sys
import time

import grpc
from google.protobuf import json_format

from descriptor_client import DescriptorClient, out

address, descriptors, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = DescriptorClient(address, descriptors, "shoal.v1.QueryService")
unary = client.unary


if mode == "unary":
    device = sys.argv[4]
    unary("ListDevices", idPrefix="q-a-", pageSize=2)
    unary("GetDevice", deviceId=device)
    unary("ListReadings", deviceId=device, metric="temp", fromMs=str(int(sys.argv[5])), toMs=str(int(sys.argv[6])), maxPoints=100)
    unary("ListReadings", deviceId="bad id!", metric="temp", fromMs="1", toMs="2")
    unary("ListAnalyses", deviceId="q-a-1", fromMs=str(int(sys.argv[5])), toMs=str(int(sys.argv[6])))
elif mode == "watch-slow":
    # Open the stream, take one message, then stop reading while the device's rows keep coming.
    stream = client.stream("WatchDevice", deviceId=sys.argv[4])
    first = next(stream)
    out(event="first", item=json_format.MessageToDict(first))
    time.sleep(float(sys.argv[5]))
    got = 0
    try:
        for _ in stream:
            got += 1
        out(event="end", ok=True, got=got)
    except grpc.RpcError as e:
        out(event="end", ok=False, got=got, code=e.code().name, details=e.details())
elif mode == "watch-coalesced":
    # Ask for readings several to a message (coalesce_ms) and read until N readings came.
    stream = client.stream("WatchDevice", deviceId=sys.argv[4], coalesceMs=int(sys.argv[5]))
    out(event="open")
    want, messages, seqs, cases = int(sys.argv[6]), 0, [], []
    for m in stream:
        messages += 1
        d = json_format.MessageToDict(m)
        case = next(iter(d))
        cases.append(case)
        batch = d[case]["readings"] if case == "readings" else [d[case]]
        seqs.extend(int(r.get("seq", "0")) for r in batch)
        if len(seqs) >= want:
            break
    stream.cancel()
    out(event="got", messages=messages, cases=sorted(set(cases)), seqs=seqs)
