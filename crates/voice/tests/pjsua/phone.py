#!/usr/bin/env python3
"""A PJSIP phone (PyPI pjsua2-python, null audio device) for the voice tests.

    phone.py register <server> <user> <password> <expected-code>
    phone.py call     <server> <bind-ip> <dialled> <dtmf>
    phone.py answer   <server> <user> <password>

register: REGISTER with digest auth, exit 0 if the final code is the expected one.
call:     call sip:<dialled>@<server> from <bind-ip> without registering, send
          <dtmf> (RFC 2833) once confirmed, exit 0 when the platform hangs up.
answer:   register, auto-answer the platform's call, send (null-device) audio,
          exit 0 when it hangs up.
Every wait is bounded (20 s); any other outcome exits 1.
"""
import os
import sys
import time

import pjsua2 as pj

LIMIT_S = 20.0


class Phone(pj.Account):
    def __init__(self):
        super().__init__()
        self.reg_code = None
        self.calls = []

    def onRegState(self, prm):
        self.reg_code = prm.code

    def onIncomingCall(self, prm):
        call = Call(self, prm.callId)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)
        self.calls.append(call)


class Call(pj.Call):
    def __init__(self, acc, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.confirmed = False
        self.disconnected = False
        self.media_active = False

    def onCallState(self, prm):
        state = self.getInfo().state
        if state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
        if state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True

    def onCallMediaState(self, prm):
        self.media_active = True

    def wire_media(self):
        """pjsua2 does not wire calls to the (null) sound device by itself; without
        it the stream is not clocked and RFC 2833 digits never leave. Done from
        the main loop: doing it inside the callback deadlocks."""
        devs = pj.Endpoint.instance().audDevManager()
        for i, mi in enumerate(self.getInfo().media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                media = self.getAudioMedia(i)
                devs.getCaptureDevMedia().startTransmit(media)
                media.startTransmit(devs.getPlaybackDevMedia())


def main(argv):
    mode, server = argv[1], argv[2]
    bind_ip = argv[3] if mode == "call" else "127.0.0.1"
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = int(os.environ.get("PJ_LOG", "1"))
    cfg.logConfig.consoleLevel = cfg.logConfig.level
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = 0
    tcfg.boundAddress = bind_ip
    tcfg.publicAddress = bind_ip
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()

    def pump(cond):
        end = time.time() + LIMIT_S
        while time.time() < end and not cond():
            ep.libHandleEvents(20)
        return cond()

    acfg = pj.AccountConfig()
    acfg.mediaConfig.transportConfig.boundAddress = bind_ip
    acc = Phone()
    ok = False
    if mode in ("register", "answer"):
        user, password = argv[3], argv[4]
        acfg.idUri = f"sip:{user}@{server}"
        acfg.regConfig.registrarUri = f"sip:{server}"
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        acc.create(acfg)
        if mode == "register":
            expected = int(argv[5])
            pump(lambda: acc.reg_code is not None and acc.reg_code != 100)
            print(f"REG {acc.reg_code}", flush=True)
            ok = acc.reg_code == expected
        else:
            registered = pump(lambda: acc.reg_code == 200)
            print(f"REG {acc.reg_code}", flush=True)
            ok = registered and pump(lambda: any(c.confirmed for c in acc.calls))
            # Clock the stream so that the phone sends RTP (its "voice").
            if ok and pump(lambda: all(c.media_active or c.disconnected for c in acc.calls)):
                for c in acc.calls:
                    if not c.disconnected:
                        c.wire_media()
            ok = ok and pump(lambda: all(c.disconnected for c in acc.calls))
            print(f"ANSWERED+HUNGUP {ok}", flush=True)
    elif mode == "call":
        dialled, dtmf = argv[4], argv[5]
        acfg.idUri = f"sip:+33699999999@{bind_ip}"
        acc.create(acfg)
        call = Call(acc)
        call.makeCall(f"sip:{dialled}@{server}", pj.CallOpParam(True))
        ok = pump(lambda: call.confirmed or call.disconnected) and call.confirmed
        if ok:
            ok = pump(lambda: call.media_active or call.disconnected) and call.media_active
        if ok:
            call.wire_media()
            call.dialDtmf(dtmf)
            ok = pump(lambda: call.disconnected)
        print(f"CALL {ok}", flush=True)
    # pjsua2's Python objects crash on teardown after a call (assertion in
    # pjsua_call_set_user_data): leave without destroying the library.
    sys.stdout.flush()
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
