#!/usr/bin/python3
"""A QueryService client written with Debian's python3-grpcio and python3-protobuf only: message
classes come from the descriptor set `buf build` writes (no generated code of ours). Prints one JSON
object per call on stdout; the test asserts on them.

usage: query_client.py ADDRESS DESCRIPTOR_SET unary|watch-slow DEVICE"""
import json
import sys
import time

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
service = pool.FindServiceByName("shoal.v1.QueryService")
channel = grpc.insecure_channel(address)


def method(name):
    m = service.methods_by_name[name]
    req, res = factory.GetPrototype(m.input_type), factory.GetPrototype(m.output_type)
    path = "/shoal.v1.QueryService/" + name
    stream = m.server_streaming if hasattr(m, "server_streaming") else name == "WatchDevice"
    make = channel.unary_stream if stream else channel.unary_unary
    return req, make(path, request_serializer=lambda x: x.SerializeToString(), response_deserializer=res.FromString)


def out(**kv):
    print(json.dumps(kv), flush=True)


def unary(name, **fields):
    req, call = method(name)
    try:
        res = call(json_format.ParseDict(fields, req()), timeout=15)
        out(call=name, ok=True, response=json_format.MessageToDict(res))
    except grpc.RpcError as e:
        out(call=name, ok=False, code=e.code().name, details=e.details())


if mode == "unary":
    device = sys.argv[4]
    unary("ListDevices", idPrefix="q-a-", pageSize=2)
    unary("GetDevice", deviceId=device)
    unary("ListReadings", deviceId=device, metric="temp", fromMs=str(int(sys.argv[5])), toMs=str(int(sys.argv[6])), maxPoints=100)
    unary("ListReadings", deviceId="bad id!", metric="temp", fromMs="1", toMs="2")
    unary("ListAnalyses", deviceId="q-a-1", fromMs=str(int(sys.argv[5])), toMs=str(int(sys.argv[6])))
elif mode == "watch-slow":
    # Open the stream, take one message, then stop reading while the device's rows keep coming.
    req, call = method("WatchDevice")
    stream = call(json_format.ParseDict({"deviceId": sys.argv[4]}, req()))
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
