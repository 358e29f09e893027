"""A stand-in for an OpenAI-compatible model server (no model that runs here
is packaged on the registries this project may use): it answers
`POST /v1/chat/completions` like the API does in JSON mode, and prints every
request it gets as a JSON line, so a test sees exactly what was sent.

How it answers is set by GET /mode/NAME:
  good       an analysis that quotes the context's first FAILED message
  malformed  prose instead of the JSON object asked for
  error      HTTP 500 with an API error body
  slow       waits 30 s before answering (for timeouts)

Usage: model_server.py PORT (0 picks one; the chosen port is printed).
"""
import http.server, json, sys, threading, time

mode = {"now": "good"}
lock = threading.Lock()
calls = {"n": 0}


def analysis(context):
    """An answer built from the context, so a test can tell it was read."""
    try:
        ctx = json.loads(context)
        message = ctx["status"]["message"]
        service = ctx["service"]["service_id"]
    except (ValueError, KeyError, TypeError):
        message, service = "no context", "unknown"
    return {
        "summary": f"{service} is failing: {message}",
        "likely_root_cause": "the dependency it calls refuses connections",
        "evidence": [message],
        "next_steps": ["check the dependency", "read the pod log tail"],
        "confidence": 0.7,
    }


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.startswith("/mode/"):
            mode["now"] = self.path[len("/mode/"):]
            return self.reply(200, {"mode": mode["now"]})
        self.reply(404, {"error": {"message": "not found"}})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with lock:
            calls["n"] += 1
            now = mode["now"]
        print(json.dumps({"path": self.path, "mode": now,
                          "authorization": self.headers.get("Authorization"),
                          "body": body}), flush=True)
        if not self.path.endswith("/chat/completions"):
            return self.reply(404, {"error": {"message": "unknown path " + self.path}})
        if now == "error":
            return self.reply(500, {"error": {"message": "the model is overloaded", "type": "server_error"}})
        if now == "slow":
            time.sleep(30)
        user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
        if now == "malformed":
            content = "The service looks unhealthy; I would restart it."
        else:
            content = json.dumps(analysis(user))
        prompt = sum(len(m["content"]) for m in body["messages"]) // 4
        completion = len(content) // 4
        self.reply(200, {
            "id": "chatcmpl-%d" % calls["n"],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion},
        })


s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
s.daemon_threads = True
print("model ready", s.server_address[1], flush=True)
s.serve_forever()
