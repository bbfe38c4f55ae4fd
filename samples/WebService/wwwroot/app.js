// Records from the microphone as 16-bit mono WAV (the service reads WAV), or takes a file, and shows what
// POST /api/emotion and POST /api/emotion/timeline answer.
"use strict";

const $ = (id) => document.getElementById(id);
let capture = null;

$("record").addEventListener("click", async () => {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const context = new AudioContext();
    const source = context.createMediaStreamSource(stream);
    const processor = context.createScriptProcessor(4096, 1, 1);
    const chunks = [];
    processor.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
    source.connect(processor);
    processor.connect(context.destination);
    capture = { stream, context, source, processor, chunks };
    $("record").disabled = true;
    $("stop").disabled = false;
    status("Recording…");
  } catch (e) {
    status(`The microphone is not available: ${e.message}`);
  }
});

$("stop").addEventListener("click", async () => {
  if (!capture) return;
  const { stream, context, source, processor, chunks } = capture;
  capture = null;
  source.disconnect();
  processor.disconnect();
  stream.getTracks().forEach((t) => t.stop());
  const rate = context.sampleRate;
  await context.close();
  $("record").disabled = false;
  $("stop").disabled = true;
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const samples = new Float32Array(length);
  let offset = 0;
  for (const c of chunks) { samples.set(c, offset); offset += c.length; }
  await analyze(encodeWav(samples, rate), "recording");
});

$("file").addEventListener("change", async () => {
  const file = $("file").files[0];
  if (file) await analyze(file, file.name);
});

async function analyze(blob, name) {
  status(`Analysing ${name}…`);
  try {
    const [emotion, timeline] = await Promise.all([post("/api/emotion", blob), post("/api/emotion/timeline", blob)]);
    show(emotion, timeline);
    status(`${name}: ${emotion.duration_seconds.toFixed(2)} s analysed.`);
  } catch (e) {
    status(e.message);
  }
}

async function post(url, blob) {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "audio/wav" }, body: blob });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `${url}: HTTP ${response.status}`);
  return body;
}

function show(emotion, timeline) {
  $("result").hidden = false;
  $("label").textContent = emotion.label;
  $("confidence").textContent = emotion.confidence == null ? "" : `(${(emotion.confidence * 100).toFixed(0)} %)`;
  const list = $("probabilities");
  list.replaceChildren(...Object.entries(emotion.probabilities).map(([label, p]) => {
    const item = document.createElement("li");
    item.dataset.label = label;
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.style.width = `${(p * 100).toFixed(1)}%`;
    item.append(text("span", label), bar, text("span", p.toFixed(3)));
    return item;
  }));
  $("transcript").textContent = emotion.transcript;
  const rows = timeline.segments.map((s) => {
    const row = document.createElement("tr");
    row.append(text("td", s.start_seconds.toFixed(2)), text("td", s.end_seconds.toFixed(2)), text("td", s.label),
      text("td", s.confidence == null ? "" : s.confidence.toFixed(2)), text("td", s.transcript));
    return row;
  });
  $("timeline").tBodies[0].replaceChildren(...rows);
}

function text(tag, value) {
  const element = document.createElement(tag);
  element.textContent = value;
  return element;
}

function status(message) { $("status").textContent = message; }

// 16-bit PCM mono WAV of float samples in [-1, 1].
function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const ascii = (offset, s) => [...s].forEach((c, i) => view.setUint8(offset + i, c.charCodeAt(0)));
  ascii(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); ascii(8, "WAVE");
  ascii(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  ascii(36, "data"); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const v = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, v < 0 ? v * 32768 : v * 32767, true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}
