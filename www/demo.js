// A small kwmserverd client: connect call, RTM WebSocket, a 1:1 WebRTC call with the
// server relaying the signals, a group join with its member list, and group chat.
// Plain JavaScript, no build step. window.kwmDemo exposes the actions for scripted tests.
'use strict';

const WEBRTC_V = 20180703;
const CHATS_V = 20201201;
const $ = (id) => document.getElementById(id);

const demo = {
  socket: null,
  self: null,
  nextId: 1,
  state: Math.random().toString(36).slice(2, 10), // our call state token
  call: null, // {peer, channel, hash, peerState, pc}
  group: null, // {id, channel, members}
  localStream: null,
  pending: new Map(), // id -> resolve of the reply
};

function log(...parts) {
  const line = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
  $('log').textContent = `${new Date().toISOString().slice(11, 19)} ${line}\n` + $('log').textContent;
}

function setOnline(online) {
  $('status').textContent = online ? `online as ${demo.self.id || '(anonymous)'}` : 'offline';
  $('status').dataset.state = online ? 'online' : 'offline';
  for (const id of ['call', 'join', 'send']) $(id).disabled = !online;
  $('connect').disabled = online;
}

// Sends a message; with `expectReply` returns a promise of the server's reply (reply_to).
function send(message, expectReply = false) {
  const id = demo.nextId++;
  demo.socket.send(JSON.stringify({ id, ...message }));
  return expectReply ? new Promise((resolve) => demo.pending.set(id, resolve)) : undefined;
}

async function connect(user, authorization) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.Authorization = authorization;
  const response = await fetch('/api/kwm/v2/rtm/connect', {
    method: 'POST', headers, body: new URLSearchParams({ user }),
  });
  if (!response.ok) throw new Error(`connect failed: ${response.status} ${(await response.text()).trim()}`);
  const answer = await response.json();
  demo.self = answer.self;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}${answer.url}`);
  demo.socket = socket;
  await new Promise((resolve, reject) => {
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'hello') { setOnline(true); log('hello', message.self); resolve(); }
      handle(message);
    };
    socket.onerror = () => reject(new Error('websocket failed'));
    socket.onclose = (event) => { log('closed', event.code); setOnline(false); endCall('connection closed'); };
  });
}

function handle(message) {
  if (message.reply_to && demo.pending.has(message.reply_to)) {
    demo.pending.get(message.reply_to)(message);
    demo.pending.delete(message.reply_to);
  }
  if (message.type === 'error') return log('error', message.error);
  if (message.type === 'goodbye') return log('server says goodbye');
  if (message.type === 'webrtc') return handleWebrtc(message);
  if (message.type === 'chats') return handleChat(message);
}

// --- 1:1 calls -------------------------------------------------------------------------

async function localMedia() {
  if (!demo.localStream) {
    demo.localStream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
    $('local-video').srcObject = demo.localStream;
  }
  return demo.localStream;
}

function signal(data) {
  const c = demo.call;
  if (!c) return;
  send({ type: 'webrtc', subtype: 'webrtc_signal', target: c.peer, state: demo.state,
         channel: c.channel, hash: c.hash, v: WEBRTC_V, data });
}

async function startPeerConnection(offerer) {
  const c = demo.call;
  const pc = new RTCPeerConnection({ iceServers: [] });
  c.pc = pc;
  for (const track of (await localMedia()).getTracks()) pc.addTrack(track, demo.localStream);
  pc.onicecandidate = (event) => { if (event.candidate) signal({ candidate: event.candidate.toJSON() }); };
  pc.ontrack = (event) => { $('remote-video').srcObject = event.streams[0]; };
  pc.onconnectionstatechange = () => log('peer connection', pc.connectionState);
  for (const data of c.queued.splice(0)) await onSignal(data);
  if (offerer) {
    await pc.setLocalDescription(await pc.createOffer());
    signal({ type: pc.localDescription.type, sdp: pc.localDescription.sdp });
  }
}

async function onSignal(data) {
  if (!demo.call) return;
  const pc = demo.call.pc;
  if (!pc) return void demo.call.queued.push(data); // signals that overtook our own setup
  if (data.type === 'offer' || data.type === 'answer') {
    await pc.setRemoteDescription({ type: data.type, sdp: data.sdp });
    if (data.type === 'offer') {
      await pc.setLocalDescription(await pc.createAnswer());
      signal({ type: pc.localDescription.type, sdp: pc.localDescription.sdp });
    }
  } else if (data.candidate) {
    await pc.addIceCandidate(data.candidate);
  }
}

async function call(target) {
  if (demo.call) throw new Error('already in a call');
  await localMedia();
  const reply = await send({ type: 'webrtc', subtype: 'webrtc_call', target, initiator: true,
                             state: demo.state, v: WEBRTC_V }, true);
  if (reply.type === 'error') throw new Error(reply.error.msg);
  demo.call = { peer: target, channel: reply.channel, hash: reply.hash, peerState: '', pc: null, queued: [] };
  $('remote-name').textContent = `calling ${target}…`;
  $('hangup').disabled = false;
  log('calling', target);
}

async function answer(message, accept) {
  demo.call = { peer: message.source, channel: message.channel, hash: message.hash, peerState: message.state,
                pc: null, queued: [] };
  if (accept) await localMedia();
  send({ type: 'webrtc', subtype: 'webrtc_call', target: message.source, state: demo.state,
               channel: message.channel, hash: message.hash, v: WEBRTC_V,
               data: accept ? { accept: true, state: message.state } : { accept: false, reason: 'reject', state: message.state } });
  if (!accept) { demo.call = null; return; }
  $('remote-name').textContent = message.source;
  $('hangup').disabled = false;
  await startPeerConnection(false);
}

function hangup() {
  const c = demo.call;
  if (!c) return;
  send({ type: 'webrtc', subtype: 'webrtc_hangup', target: c.peer, state: demo.state, channel: c.channel,
         hash: c.hash, v: WEBRTC_V, data: { accept: false, reason: 'hangup', state: c.peerState } });
  endCall('hung up');
}

function endCall(why) {
  const c = demo.call;
  if (!c) return;
  if (c.pc) c.pc.close();
  demo.call = null;
  $('remote-video').srcObject = null;
  $('remote-name').textContent = 'nobody';
  $('hangup').disabled = true;
  log('call ended:', why);
}

async function handleWebrtc(message) {
  switch (message.subtype) {
    case 'webrtc_call':
      if (message.data && demo.call && message.source === demo.call.peer) { // the answer to our call
        if (!message.data.accept) return endCall(`rejected (${message.data.reason || ''})`);
        demo.call.peerState = message.state;
        $('remote-name').textContent = message.source;
        return startPeerConnection(true);
      }
      if (!message.data && message.initiator) { // an incoming call
        log('incoming call from', message.source);
        return answer(message, !demo.call && $('auto-answer').checked);
      }
      return;
    case 'webrtc_signal':
      if (demo.call && message.source === demo.call.peer) return onSignal(message.data);
      return;
    case 'webrtc_hangup':
      if (demo.call && message.source === demo.call.peer) return endCall(`${message.source} hung up`);
      return;
    case 'webrtc_channel':
      if (message.data && message.data.group && demo.group && message.channel === demo.group.channel) {
        demo.group.members = message.data.group.members;
        $('members').textContent = demo.group.members.join(', ');
      }
      return;
  }
}

// --- groups and chat -------------------------------------------------------------------

async function join(group) {
  const reply = await send({ type: 'webrtc', subtype: 'webrtc_group', target: group, group,
                             state: demo.state, v: WEBRTC_V }, true);
  if (reply.type === 'error') throw new Error(reply.error.msg);
  demo.group = { id: group, channel: reply.channel, members: reply.data.group.members };
  $('members').textContent = demo.group.members.join(', ');
  log('joined', group);
}

function addChatLine(text) {
  const item = document.createElement('li');
  item.textContent = text;
  $('chat').append(item);
}

function handleChat(message) {
  const data = message.data || {};
  if (message.subtype === 'chats_message' && !message.reply_to) addChatLine(`${data.sender}: ${data.text}`);
  if (message.subtype === 'chats_system' && data.text) addChatLine(data.text);
}

async function sendChat(text) {
  if (!demo.group) throw new Error('join a group first');
  const reply = await send({ type: 'chats', subtype: 'chats_message', channel: demo.group.channel,
                             v: CHATS_V, data: { text } }, true);
  if (reply.type === 'error') throw new Error(reply.error.msg);
  addChatLine(`${demo.self.id}: ${text}`);
}

// --- page wiring -----------------------------------------------------------------------

function guarded(action) {
  return (event) => {
    if (event) event.preventDefault();
    action().catch((error) => log('failed:', error.message));
  };
}

$('connect').onclick = guarded(() => connect($('user').value.trim(), $('authorization').value.trim()));
$('call').onclick = guarded(() => call($('target').value.trim()));
$('hangup').onclick = guarded(async () => hangup());
$('join').onclick = guarded(() => join($('group').value.trim()));
$('chat-form').onsubmit = guarded(async () => {
  const text = $('chat-text').value.trim();
  if (text) await sendChat(text);
  $('chat-text').value = '';
});

// For scripted tests (tests/browser/): the same actions, and what a user would see.
window.kwmDemo = {
  connect, call, hangup, join, sendChat,
  inCall: () => Boolean(demo.call && demo.call.pc),
  members: () => (demo.group ? demo.group.members.slice() : []),
  chatLines: () => Array.from($('chat').children, (item) => item.textContent),
  async remoteFramesDecoded() {
    const pc = demo.call && demo.call.pc;
    if (!pc) return 0;
    let frames = 0;
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') frames += report.framesDecoded || 0;
    });
    return frames;
  },
};
