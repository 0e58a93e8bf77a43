#!/usr/bin/python3
"""An AlertService client written with Debian's python3-grpcio and python3-protobuf only: message
classes come from the descriptor set `buf build` writes (no generated code of ours), as
query_client.py does. Prints one JSON object per call (or per streamed message) on stdout; the test
asserts on them.

usage: alert_client.py ADDRESS DESCRIPTOR_SET unary DEVICE ALERT_ID
       alert_client.py ADDRESS DESCRIPTOR_SET watch DEVICE COUNT"""
import sys

from google.protobuf import json_format

from descriptor_client import DescriptorClient, out

address, descriptors, mode = sys.argv[1], sys.argv[2], sys.argv[3]
client = DescriptorClient(address, descriptors, "shoal.v1.AlertService")
unary = client.unary


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
    stream = client.stream("WatchAlerts", deviceId=sys.argv[4])
    out(event="open")
    got = 0
    for item in stream:
        if not item.HasField("transition"):
            out(event="established")  # the watch's first message
            continue
        out(event="transition", item=json_format.MessageToDict(item))
        got += 1
        if got >= int(sys.argv[5]):
            break
    stream.cancel()
    out(event="end", got=got)
