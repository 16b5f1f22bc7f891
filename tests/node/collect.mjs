// SPDX-License-Identifier: MIT
// Collect COUNT message events from URL with the npm `eventsource` package
// (which reconnects with Last-Event-ID when a stream ends), then print them as
// one JSON object: {"opens": N, "events": [{"type", "data", "id"}, ...]}.
// Usage: node collect.mjs URL COUNT
import { EventSource } from "eventsource";

const [url, count] = process.argv.slice(2);
const events = [];
let opens = 0;
const source = new EventSource(url);
source.onopen = () => {
  opens += 1;
};
source.onmessage = (event) => {
  events.push({ type: event.type, data: event.data, id: event.lastEventId });
  if (events.length >= Number(count)) {
    source.close();
    console.log(JSON.stringify({ opens, events }));
    process.exit(0);
  }
};
setTimeout(() => {
  console.error("timed out; got " + JSON.stringify(events));
  process.exit(2);
}, 20000);
