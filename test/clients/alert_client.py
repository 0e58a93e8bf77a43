#!/usr/bin/python3
"""An AlertService client written with Debian's python3-grpcio and python3-protobuf only: message
classes come from the descriptor set `buf build` writes (no generated code of ours), as
query_client.py does. Prints one JSON object per call (or per streamed message) on stdout; the test
asserts on them.

usage: alert_client.py ADDRESS DESCRIPTOR_SET unary DEVICE ALERT_ID
       alert_client.py ADDRESS DESCRIPTOR_SET watch DEVICE COUNT"""
import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

address, descriptors, mode = sys.argv[1], sys.argv[2], sys.argv[3]

fds = descriptor_pb2.FileDescriptorSet()
with open(descriptors, "rb") as f:
    fds.ParseFromString(f.read())
pool = descriptor_pool.DescriptorPool()
for file in fds.file:
    pool.Add(file)
factory = message_factory.MessageFactory(pool)
service = pool.FindServiceByName("shoal.v1.AlertService")
channel = grpc.insecure_channel(address)


def method(name):
    m = service.methods_by_name[name]
    req, res = factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type)
    path = "/shoal.v1.AlertService/" + name
    stream = m.server_streaming if hasattr(m, "server_streaming") else name == "WatchAlerts"
    make = channel.unary_stream if stream else channel.unary_unary
    return req, make(path, request_serializer=lambda x: x.SerializeToString(), response_deserializer=res.FromString)


def out(**kv):
    print(json.dumps(kv), flush=True)


def unary(name, **fields):
    req, call = method(name)
    try:
        res = call(json_format.ParseDict(fields, req()), timeout=15)
        response = json_format.MessageToDict(res)
        out(call=name, ok=True, response=response)
        return response
    except grpc.RpcError as e:
        out(call=name, ok=False, code=e.code().name, details=e.details())
        return None


if mode == "unary":
    device, alert = sys.argv[4], sys.argv[5]
    unary("ListAlerts", deviceId=device, states=["ALERT_STATE_FIRING"], limit=10)
    unary("GetAlert", alertId=alert)
    unary("AcknowledgeAlert", alertId=alert, by="py-operator", reason="on it")
    unary("ResolveAlert", alertId=alert, by="py-operator", reason="fixed")
    unary("ResolveAlert", alertId=alert, by="py-operator")
    unary("AcknowledgeAlert", alertId=alert, by="")
    created = unary("SilenceAlerts", deviceId=device, durationMs="600000", by="py-operator", reason="maintenance")
    unary("ListSilences")
    unary("DeleteSilence", id=created["silence"]["id"] if created else "none", by="py-operator", reason="done")
    unary("ListSilences", includeExpired=True)
elif mode == "watch":
    # Print the first COUNT transitions of DEVICE as they come, then hang up.
    req, call = method("WatchAlerts")
    stream = call(json_format.ParseDict({"deviceId": sys.argv[4]}, req()))
    out(event="open")
    got = 0
    for item in stream:
        out(event="transition", item=json_format.MessageToDict(item))
        got += 1
        if got >= int(sys.argv[5]):
            break
    stream.cancel()
    out(event="end", got=got)
