"""The floor a hook run is measured against: a bare client doing the same work.

It sends the very requests a hook run sent (method, path, body, Accept and token, in the
order the server saw them), over the same TLS (ssl.create_default_context with the cluster's
CA, http.client, one kept-alive connection) and decodes each JSON answer, with no logic of its
own. What the hook spends beyond this is its own logic: planning, comparing, reporting. The
requests are those the recording proxy in front of the real API server saw (benchmarks/realrig.py,
requests_file).
"""

from __future__ import annotations

# Run as the floor process: argv = [ca_file, requests.json, server]. Standard library only.
BARE_CLIENT = """
import http.client, json, ssl, sys
ca_file, requests_file, server = sys.argv[1:4]
context = ssl.create_default_context(cafile=ca_file)
connection = http.client.HTTPSConnection(server.removeprefix("https://"), context=context)
for method, path, body, accept, authorization in json.load(open(requests_file)):
    headers = {"Authorization": authorization, "Accept": accept}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=data, headers=headers)
    answer = connection.getresponse().read()
    if answer[:1] == b"{":
        json.loads(answer)
"""
