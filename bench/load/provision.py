#!/usr/bin/env python3
"""Load-test helper for hold.sh (issue 13): provision agents through the
REST API, or read the outcome of a run from the event log.

  provision.py agents BASE_URL ADMIN_PASSWORD N CSV_OUT TOKENS_OUT
      creates agents la0001..laNNNN (skill general:5), gives each phone a
      SIP password (POST /api/v1/agents/{id}/sip-password), creates their
      users and logs them in; writes the sipp -inf CSV (login;[authentication ...]) and
      the tokens (one per line). Sets queue `general` to no wrap-up and no
      maximum wait.
  provision.py acd-login BASE_URL TOKENS_FILE
      ACD login of every agent (their phones must be registered).
  provision.py outcome BASE_URL ADMIN_PASSWORD AFTER_SEQ
      prints the run's figures from events after AFTER_SEQ: calls bridged to
      agents, abandoned, and the receive loss (RTP, RFC 3550) the platform
      measured on the caller and agent legs.
  provision.py last-seq BASE_URL ADMIN_PASSWORD
  provision.py live BASE_URL ADMIN_PASSWORD
      prints queue general's waiting and talking counts now.
"""
import json
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor


def call(base, method, path, token=None, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def login(base, user, password):
    s, b = call(base, "POST", "/api/v1/auth/login", body={"username": user, "password": password})
    if s != 200:
        sys.exit(f"login {user}: {s} {b}")
    return b["token"]


def must(what, got, status=(200, 201, 204)):
    s, b = got
    if s not in status:
        sys.exit(f"{what}: {s} {b}")
    return b


def agents(base, admin_pw, n, csv_out, tokens_out):
    admin = login(base, "admin", admin_pw)
    queues = must("queues", call(base, "GET", "/api/v1/queues", admin))
    q = next(q for q in queues if q["name"] == "general")
    body = {k: q[k] for k in ("name", "required_skills", "strategy", "service_level",
                              "wrap_up_s", "max_wait_s", "ring_timeout_s", "priority") if k in q}
    body.update(wrap_up_s=0, max_wait_s=0, required_skills=[])
    for k, v in q.items():
        if k not in body and k not in ("id",):
            body[k] = v
    must("queue general", call(base, "PUT", f"/api/v1/queues/{q['id']}", admin, body))

    def one(i):
        login_name = f"la{i:04d}"
        a = must(f"agent {login_name}", call(base, "POST", "/api/v1/agents", admin, {
            "login": login_name, "name": f"Load agent {i}",
            "skills": [{"skill": "general", "level": 5}], "languages": ["fr"]}))
        sip = must("sip password", call(base, "POST", f"/api/v1/agents/{a['id']}/sip-password", admin))
        pw = f"load-{login_name}-pw"
        must(f"user {login_name}", call(base, "POST", "/api/v1/users", admin, {
            "username": login_name, "password": pw, "role": "agent", "agent_id": a["id"]}))
        return login_name, sip["password"], login(base, login_name, pw)

    with ThreadPoolExecutor(8) as ex:
        rows = list(ex.map(one, range(1, n + 1)))
    with open(csv_out, "w") as f:
        f.write("SEQUENTIAL\n")
        for login_name, sip_pw, _ in rows:
            f.write(f"{login_name};[authentication username={login_name} password={sip_pw}]\n")
    with open(tokens_out, "w") as f:
        for _, _, token in rows:
            f.write(token + "\n")


def acd_login(base, tokens_file):
    tokens = [t.strip() for t in open(tokens_file) if t.strip()]
    with ThreadPoolExecutor(8) as ex:
        res = list(ex.map(lambda t: call(base, "POST", "/api/v1/agent/login", t, {}), tokens))
    bad = [r for r in res if r[0] not in (200, 204)]
    if bad:
        sys.exit(f"ACD login refused for {len(bad)} agents: {bad[:3]}")


def events(base, token, kind, after):
    out = []
    while True:
        s, page = call(base, "GET", f"/api/v1/events?kind={kind}&after_seq={after}&limit=10000", token)
        if s != 200 or not page:
            return out
        out += page
        after = page[-1]["seq"]
        if len(page) < 10000:
            return out


def outcome(base, admin_pw, after):
    admin = login(base, "admin", admin_pw)
    answered = events(base, admin, "answered", after)
    abandoned = events(base, admin, "abandoned", after)
    quality = events(base, admin, "media_quality", after)
    legs = {}
    for e in quality:
        k = e["kind"]
        legs.setdefault(k["leg"], []).append(k["loss_pct"])
    parts = [f"bridged_to_agents={len(answered)}", f"abandoned_in_queue={len(abandoned)}"]
    for leg, losses in sorted(legs.items()):
        lossy = sum(1 for x in losses if x > 0)
        parts.append(f"{leg}_legs={len(losses)} {leg}_avg_loss={sum(losses)/len(losses):.3f}% "
                     f"{leg}_max_loss={max(losses):.2f}% {leg}_legs_with_loss={lossy}")
    print(" ".join(parts))


def last_seq(base, admin_pw):
    admin = login(base, "admin", admin_pw)
    seq = 0
    after = 0
    while True:
        s, page = call(base, "GET", f"/api/v1/events?after_seq={after}&limit=10000", admin)
        if s != 200 or not page:
            break
        seq = page[-1]["seq"]
        after = seq
        if len(page) < 10000:
            break
    print(seq)


def live(base, admin_pw):
    admin = login(base, "admin", admin_pw)
    s, qs = call(base, "GET", "/api/v1/stats/queues", admin)
    q = next((q for q in qs if q.get("name") == "general"), {})
    print(json.dumps(q))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "agents":
        agents(args[0], args[1], int(args[2]), args[3], args[4])
    elif cmd == "acd-login":
        acd_login(args[0], args[1])
    elif cmd == "outcome":
        outcome(args[0], args[1], int(args[2]))
    elif cmd == "last-seq":
        last_seq(args[0], args[1])
    elif cmd == "live":
        live(args[0], args[1])
    else:
        sys.exit(__doc__)
