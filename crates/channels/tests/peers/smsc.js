// A tiny SMSC simulator for crates/channels tests, on npm `smpp` (createServer).
//
// Usage: node smsc.js            (listens on 127.0.0.1, a free port)
// stdout: one JSON object per line: {"event":"listening","port":N}, then
//   {"event":"bind_transceiver","system_id":..,"password":..,"interface_version":..}
//   {"event":"submit_sm","seq":..,"source_addr":..,"destination_addr":..,
//    "data_coding":..,"esm_class":..,"registered_delivery":..,
//    "short_message_hex":..,"udh_hex":..|null,"text":..,"message_id":..}
//   {"event":"enquire_link"} {"event":"unbind"} {"event":"closed"}
// stdin: one command per line, applied to the latest bound session:
//   deliver <json>   send deliver_sm with the given fields (short_message as text)
//   dlr <id> <stat>  send a delivery receipt for message <id>
//   malformed        write a PDU whose command_length (5) is below the 16-octet header
//   huge             write a PDU header announcing 16 MiB (above any sane limit)
//   unbind           the SMSC asks the ESME to unbind (e.g. before maintenance)
const smpp = require('smpp');
const readline = require('readline');

let last = null;
let counter = 0;

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const server = smpp.createServer({ debug: false }, function (session) {
  session.on('error', function (e) {
    out({ event: 'session_error', message: String(e && e.message) });
  });
  session.on('close', function () {
    out({ event: 'closed' });
  });
  session.on('bind_transceiver', function (pdu) {
    out({
      event: 'bind_transceiver',
      system_id: pdu.system_id,
      password: pdu.password,
      interface_version: pdu.interface_version,
    });
    session.send(pdu.response());
    last = session;
  });
  session.on('submit_sm', function (pdu) {
    counter += 1;
    const id = 'sim' + counter;
    // Raw octets as sent: re-encode is not reliable, so use the decoded parts.
    const sm = pdu.short_message || {};
    const udh = sm.udh && sm.udh.length ? Buffer.concat([Buffer.from([sm.udh.reduce((n, u) => n + u.length, 0)])].concat(sm.udh)) : null;
    out({
      event: 'submit_sm',
      seq: pdu.sequence_number,
      source_addr: pdu.source_addr,
      destination_addr: pdu.destination_addr,
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      udh_hex: udh ? udh.toString('hex') : null,
      text: typeof sm.message === 'string' ? sm.message : null,
      message_id: id,
    });
    session.send(pdu.response({ message_id: id }));
  });
  session.on('enquire_link', function (pdu) {
    out({ event: 'enquire_link' });
    session.send(pdu.response());
  });
  session.on('unbind', function (pdu) {
    out({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
  session.on('deliver_sm_resp', function (pdu) {
    out({ event: 'deliver_sm_resp', seq: pdu.sequence_number, status: pdu.command_status });
  });
});

server.listen(0, '127.0.0.1', function () {
  out({ event: 'listening', port: server.address().port });
});

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', function (line) {
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const arg = sp < 0 ? '' : line.slice(sp + 1);
  if (!last) {
    out({ event: 'error', message: 'no bound session for ' + cmd });
    return;
  }
  if (cmd === 'deliver') {
    const f = JSON.parse(arg);
    last.deliver_sm(f);
  } else if (cmd === 'dlr') {
    const [id, stat] = arg.split(' ');
    last.deliver_sm({
      source_addr: '22997000000',
      destination_addr: 'SWITCHBD',
      esm_class: 0x04,
      short_message:
        'id:' + id + ' sub:001 dlvrd:001 submit date:2611292100 done date:2611292101 stat:' +
        stat + ' err:000 text:',
    });
  } else if (cmd === 'malformed') {
    // command_length 5: shorter than the header itself.
    last.socket.write(Buffer.from([0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9]));
  } else if (cmd === 'unbind') {
    last.unbind(function (resp) {
      out({ event: 'unbind_resp', status: resp.command_status });
      last.close();
    });
  } else if (cmd === 'huge') {
    last.socket.write(Buffer.from([1, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 9]));
  }
});
rl.on('close', function () {
  process.exit(0);
});
