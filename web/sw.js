// Acorn's Service Worker: Druid's HTTP endpoints at the page's own origin.
//
// `fetch('/druid/v2/sql/task', …)` from the page (or its devtools console) lands here. This
// file only relays: the request (method, path, body text) goes to the Acorn page that made it,
// whose Rust side routes it (`msq_protocol::api::route`), asks the engine worker
// (`msq_runtime::api::handle`) and answers on a MessageChannel with Druid's status and JSON
// body. Nothing is interpreted here, so the Service Worker and `window.acorn` cannot disagree.
//
// A Service Worker cannot reach a dedicated worker the page started, hence the hop through the
// page; it carries small JSON messages only (stage data never passes through the page).
'use strict';

/** How long a request waits for the page's answer before a 504. */
const ANSWER_TIMEOUT_MS = 120000;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/druid/')) return;
  event.respondWith(relay(event, url));
});

function json(status, body) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });
}

/** The Acorn page to ask: the one that made the request, else any open Acorn page. */
async function pageFor(event) {
  if (event.clientId) {
    const own = await self.clients.get(event.clientId);
    if (own) return own;
  }
  const all = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  return all[0];
}

async function relay(event, url) {
  const page = await pageFor(event);
  if (!page) {
    return json(503, { error: 'No Acorn page is open to run the engine: open the Query view and retry.' });
  }
  const method = event.request.method;
  const body = method === 'GET' || method === 'HEAD' ? null : await event.request.text();
  const channel = new MessageChannel();
  const answer = new Promise((resolve) => {
    const timer = setTimeout(
      () => resolve({ status: 504, body: JSON.stringify({ error: 'The Acorn page did not answer in time.' }) }),
      ANSWER_TIMEOUT_MS,
    );
    channel.port1.onmessage = (message) => {
      clearTimeout(timer);
      resolve(message.data);
    };
  });
  page.postMessage({ acornApi: { method, path: url.pathname, body } }, [channel.port2]);
  const { status, body: text } = await answer;
  return new Response(text, { status, headers: { 'Content-Type': 'application/json' } });
}
