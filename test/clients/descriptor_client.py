"""What the python clients share: a gRPC client of one shoal service written with Debian's
python3-grpcio and python3-protobuf only, its message classes built from the descriptor set
`buf build` writes (no generated code of ours), and one JSON line per call on stdout."""
import json

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory


def out(**kv):
    print(json.dumps(kv), flush=True)


class DescriptorClient:
    def __init__(self, address, descriptors, service_name):
        fds = descriptor_pb2.FileDescriptorSet()
        with open(descriptors, "rb") as f:
            fds.ParseFromString(f.read())
        pool = descriptor_pool.DescriptorPool()
        for file in fds.file:
            pool.Add(file)
        self.factory = message_factory.MessageFactory(pool)
        self.service = pool.FindServiceByName(service_name)
        self.name = service_name
        self.channel = grpc.insecure_channel(address)

    def method(self, name):
        """(request class, callable) of a method; server-streaming methods give an iterator."""
        m = self.service.methods_by_name[name]
        req, res = self.factory.GetPrototype(m.input_type), self.factory.GetPrototype(m.output_type)
        stream = m.server_streaming if hasattr(m, "server_streaming") else name.startswith("Watch")
        make = self.channel.unary_stream if stream else self.channel.unary_unary
        return req, make("/" + self.name + "/" + name, request_serializer=lambda x: x.SerializeToString(), response_deserializer=res.FromString)

    def unary(self, name, **fields):
        """Calls `name`, prints the outcome as one JSON line, returns the response as a dict (None on an error)."""
        req, call = self.method(name)
        try:
            response = json_format.MessageToDict(call(json_format.ParseDict(fields, req()), timeout=15))
            out(call=name, ok=True, response=response)
            return response
        except grpc.RpcError as e:
            out(call=name, ok=False, code=e.code().name, details=e.details())
            return None

    def stream(self, name, **fields):
        req, call = self.method(name)
        return call(json_format.ParseDict(fields, req()))
