// The recording studio: the prompts, the microphone, and takes sent to this computer's studio only.
"use strict";

const STATUS_NAMES = {
  human: "human recording",
  synthetic: "synthetic placeholder",
  missing: "missing",
  stale: "stale",
};
const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/mp4", "audio/webm"];

const $ = (id) => document.getElementById(id);
const list = $("list");
const buttons = {
  record: $("record"),
  stop: $("stop"),
  play: $("play"),
  keep: $("keep"),
  playKept: $("play-kept"),
  undo: $("undo"),
};
const KEEP = "Keep";
const KEEP_ANYWAY = "Keep anyway";

let prompts = []; // every prompt, in the order a caller meets them
let selected = null; // its key, "en/greeting"
const takes = new Map(); // key -> the take not yet kept, so moving away loses nothing
let recording = null; // {recorder, stream, context, timer, started, key}

// --- the list ---------------------------------------------------------------------------------

async function load() {
  const reply = await fetch("/studio/prompts");
  const body = await reply.json();
  if (!reply.ok) {
    list.textContent = "";
    showError(`The prompts could not be read: ${body.error}`);
    return;
  }
  prompts = [];
  list.textContent = "";
  const languages = new Set();
  for (const group of body.groups) {
    languages.add(group.language);
    const section = document.createElement("section");
    section.className = "group";
    section.dataset.language = group.language;
    const heading = document.createElement("h2");
    heading.textContent = `${group.language} · ${group.title}`;
    const items = document.createElement("ol");
    for (const prompt of group.prompts) {
      prompts.push(prompt);
      items.append(promptItem(prompt));
    }
    section.append(heading, items);
    list.append(section);
  }
  const filter = $("language-filter");
  for (const language of languages) {
    const option = document.createElement("option");
    option.value = option.textContent = language;
    filter.append(option);
  }
  applyFilters();
  select(prompts.find((p) => visible(p))?.key ?? null, false);
}

function promptItem(prompt) {
  const item = document.createElement("li");
  item.className = "prompt";
  item.id = itemId(prompt.key);
  item.tabIndex = -1;
  item.addEventListener("click", () => select(prompt.key));
  fillItem(item, prompt);
  return item;
}

function fillItem(item, prompt) {
  item.dataset.key = prompt.key;
  item.dataset.status = prompt.status;
  item.dataset.language = prompt.language;
  item.textContent = "";
  const head = document.createElement("div");
  head.className = "head";
  const id = document.createElement("code");
  id.textContent = prompt.id;
  const status = document.createElement("span");
  status.className = `status status-${prompt.status}`;
  status.textContent = STATUS_NAMES[prompt.status];
  const duration = document.createElement("span");
  duration.className = "duration";
  duration.textContent = prompt.duration == null ? "no recording" : `${prompt.duration.toFixed(1)} s`;
  head.append(id, status, duration);
  const script = document.createElement("p");
  script.className = "script";
  script.lang = prompt.language;
  script.textContent = prompt.text;
  item.append(head, script);
  if (prompt.changed) item.append(changedWords(prompt.changed));
  if (prompt.note) {
    const note = document.createElement("p");
    note.className = "note";
    note.textContent = prompt.note;
    item.append(note);
  }
}

// "[-old-] {+new+}" as the words removed and added since the recording was made.
function changedWords(diff) {
  const out = document.createElement("p");
  out.className = "changed";
  out.append("Changed since it was recorded: ");
  const pattern = /\[-(.*?)-\]|\{\+(.*?)\+\}/g;
  let at = 0;
  for (const found of diff.matchAll(pattern)) {
    out.append(diff.slice(at, found.index));
    const mark = document.createElement(found[1] !== undefined ? "del" : "ins");
    mark.textContent = found[1] ?? found[2];
    out.append(mark);
    at = found.index + found[0].length;
  }
  out.append(diff.slice(at));
  return out;
}

const itemId = (key) => `prompt-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
const byKey = (key) => prompts.find((p) => p.key === key);

function visible(prompt) {
  const language = $("language-filter").value;
  const status = $("status-filter").value;
  return (!language || prompt.language === language) && (!status || prompt.status === status);
}

function applyFilters() {
  for (const prompt of prompts) $(itemId(prompt.key)).hidden = !visible(prompt);
  for (const group of list.querySelectorAll(".group")) {
    group.hidden = !group.querySelector(".prompt:not([hidden])");
  }
  const shown = prompts.filter(visible);
  const count = (s) => shown.filter((p) => p.status === s).length;
  $("counts").textContent =
    `${shown.length} prompts: ${count("human")} human, ${count("synthetic")} placeholder, ` +
    `${count("missing")} missing, ${count("stale")} stale`;
}

function select(key, focus = true) {
  if (recording) {
    say("Stop the recording first.");
    return;
  }
  selected = key;
  for (const item of list.querySelectorAll(".prompt.selected")) item.classList.remove("selected");
  const prompt = key && byKey(key);
  buttons.record.disabled = !prompt;
  showKept(prompt);
  if (!prompt) {
    $("current-title").textContent = "No prompt matches the filters";
    $("current-script").textContent = "";
    return;
  }
  const item = $(itemId(key));
  item.classList.add("selected");
  if (focus) {
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest" });
  }
  $("current-title").textContent = `${prompt.language} · ${prompt.id}`;
  $("current-status").textContent = STATUS_NAMES[prompt.status];
  $("current-status").className = `status status-${prompt.status}`;
  $("current-where").textContent = prompt.where;
  $("current-script").textContent = prompt.text;
  $("current-script").lang = prompt.language;
  const changed = $("current-changed");
  changed.hidden = !prompt.changed;
  changed.replaceChildren(...(prompt.changed ? changedWords(prompt.changed).childNodes : []));
  showTake();
}

function move(step) {
  const shown = prompts.filter(visible);
  if (!shown.length) return;
  const at = shown.findIndex((p) => p.key === selected);
  const next = at < 0 ? 0 : Math.min(Math.max(at + step, 0), shown.length - 1);
  select(shown[next].key);
}

// The next missing or stale prompt after this one; with none left, the next placeholder.
function nextToRecord() {
  const at = Math.max(prompts.findIndex((p) => p.key === selected), 0);
  const order = [...prompts.slice(at + 1), ...prompts.slice(0, at + 1)];
  const wanted = (statuses) => order.find((p) => statuses.includes(p.status) && visibleLanguage(p));
  const next = wanted(["missing", "stale"]) || wanted(["synthetic"]);
  if (!next) {
    say("Every prompt has a human recording.");
    return;
  }
  if (!visible(next)) {
    $("status-filter").value = "";
    applyFilters();
  }
  select(next.key);
  if (next.status === "synthetic") say("Nothing is missing or stale; this one has a placeholder.");
}

const visibleLanguage = (p) => !$("language-filter").value || p.language === $("language-filter").value;

// --- recording --------------------------------------------------------------------------------

async function startRecording() {
  if (!selected || recording) return;
  stopPlaying();
  clearError();
  if (!navigator.mediaDevices?.getUserMedia) {
    showError(
      "This browser cannot use the microphone here. Open the studio at " +
        `http://127.0.0.1:${location.port}/studio on this computer: browsers allow the ` +
        "microphone only there or over https.",
    );
    return;
  }
  if (typeof MediaRecorder === "undefined") {
    showError("This browser cannot record audio. Use a current Firefox, Chrome, Edge or Safari.");
    return;
  }
  let stream;
  try {
    // The voice as it is: no echo cancelling, noise suppression or automatic gain to color it.
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
  } catch (error) {
    showError(microphoneError(error));
    return;
  }
  const type = TYPES.find((t) => MediaRecorder.isTypeSupported(t)) || "";
  const recorder = new MediaRecorder(stream, { mimeType: type, audioBitsPerSecond: 128000 });
  const chunks = [];
  const key = selected;
  recorder.ondataavailable = (event) => event.data.size && chunks.push(event.data);
  recorder.onstop = () => finishTake(key, new Blob(chunks, { type: recorder.mimeType || type }));
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 2048;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const started = performance.now();
  const timer = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    let peak = 0;
    for (const s of samples) peak = Math.max(peak, Math.abs(s));
    $("level").value = Math.min(peak, 1);
    $("take-time").textContent = `${((performance.now() - started) / 1000).toFixed(1)} s`;
  }, 50);
  recording = { recorder, stream, context, timer, started, key };
  recorder.start();
  buttons.record.disabled = buttons.play.disabled = buttons.keep.disabled = true;
  buttons.playKept.disabled = buttons.undo.disabled = true;
  buttons.stop.disabled = false;
  $(itemId(key)).classList.add("recording");
  $("warnings").textContent = $("measurements").textContent = "";
  say("Recording… press Stop (or Space) when you have said the words.");
}

function microphoneError(error) {
  switch (error.name) {
    case "NotAllowedError":
    case "SecurityError":
      return (
        "The browser was not allowed to use the microphone. Allow it for this page (the icon " +
        "in the address bar, or the browser's site settings), then press Record again."
      );
    case "NotFoundError":
    case "OverconstrainedError":
      return "No microphone was found. Plug one in or choose it in the system's sound settings, then press Record again.";
    case "NotReadableError":
      return "The microphone could not be opened: another program may be using it. Close that program, then press Record again.";
    default:
      return `The microphone could not be used (${error.name}: ${error.message}).`;
  }
}

function stopRecording() {
  if (!recording) return;
  const { recorder, stream, context, timer, started, key } = recording;
  clearInterval(timer);
  recorder.stop();
  for (const track of stream.getTracks()) track.stop();
  context.close();
  recording = null;
  $("level").value = 0;
  $(itemId(key)).classList.remove("recording");
  buttons.stop.disabled = true;
  buttons.record.disabled = false;
  showKept(byKey(key));
  const earlier = takes.get(key);
  if (earlier?.preview) URL.revokeObjectURL(earlier.preview);
  takes.set(key, { seconds: (performance.now() - started) / 1000, blob: null });
  say("Checking the take…");
}

async function finishTake(key, blob) {
  const take = takes.get(key);
  take.blob = blob;
  const prompt = byKey(key);
  try {
    const reply = await fetch(
      `/studio/takes/${prompt.language}/${encodeURIComponent(prompt.id)}?fingerprint=${prompt.fingerprint}`,
      { method: "POST", headers: { "Content-Type": blob.type }, body: blob },
    );
    const body = await reply.json();
    if (!reply.ok) throw new Error(body.error);
    take.verdict = body;
    if (body.telephone) {
      const bytes = Uint8Array.from(atob(body.telephone), (c) => c.charCodeAt(0));
      take.preview = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
      take.format = wavFormat(bytes);
    }
  } catch (error) {
    take.failed = `The take could not be checked: ${error.message}`;
  }
  if (key === selected) showTake();
}

// What the WAV file's header says it holds, as the page names it: "8000 Hz mono mu-law".
function wavFormat(bytes) {
  const view = new DataView(bytes.buffer);
  const codec = { 1: "PCM", 6: "A-law", 7: "mu-law" }[view.getUint16(20, true)] ?? "unknown";
  const channels = view.getUint16(22, true) === 1 ? "mono" : "stereo";
  return `${view.getUint32(24, true)} Hz ${channels} ${codec}`;
}

function showTake() {
  const take = takes.get(selected);
  const warnings = $("warnings");
  warnings.textContent = $("measurements").textContent = "";
  clearError();
  buttons.play.disabled = buttons.keep.disabled = true;
  showKeep(take);
  $("take-time").textContent = take ? `${take.seconds.toFixed(1)} s` : "0.0 s";
  $("preview").removeAttribute("src");
  if (!take) {
    say("");
    return;
  }
  if (take.failed) {
    showError(take.failed);
    return;
  }
  if (!take.verdict) {
    say("Checking the take…");
    return;
  }
  const v = take.verdict;
  for (const text of v.warnings) {
    const item = document.createElement("li");
    item.textContent = text;
    warnings.append(item);
  }
  $("measurements").textContent =
    `Take ${v.take_seconds.toFixed(1)} s, peak ${v.peak_dbfs ?? "-∞"} dBFS, ` +
    `${v.loudness_lufs} LUFS` +
    (v.telephone_seconds != null
      ? `; as a caller hears it: ${v.telephone_seconds.toFixed(1)} s, ` +
        `${v.words_a_minute} words a minute (at most ${v.pace_limit}), ` +
        `${v.telephone_lufs} LUFS, ${take.format}.`
      : ".");
  if (take.preview) $("preview").src = take.preview;
  buttons.play.disabled = !take.preview;
  buttons.keep.disabled = !v.usable;
  say(
    !v.usable
      ? "This take cannot be used: record it again."
      : v.warnings.length
        ? "Listen with Play, then record it again, or Keep it as it is."
        : "No problems found. Listen with Play, then Keep it, or record it again.",
  );
}

async function play() {
  const preview = $("preview");
  if (!preview.src) return;
  preview.currentTime = 0;
  try {
    await preview.play();
    say("Playing the take as a caller will hear it…");
  } catch (error) {
    showError(`The take could not be played (${error.message}).`);
  }
}

// A take with warnings is kept only on a second, deliberate press: "Keep anyway".
function showKeep(take) {
  const flagged = Boolean(take?.verdict?.warnings.length);
  buttons.keep.textContent = take?.confirming ? KEEP_ANYWAY : KEEP;
  buttons.keep.classList.toggle("flagged", flagged);
}

async function keep() {
  const key = selected;
  const take = takes.get(key);
  const prompt = byKey(key);
  if (!take?.blob || !prompt) return;
  if (take.verdict?.warnings.length && !take.confirming) {
    take.confirming = true;
    showKeep(take);
    say(
      "This take was flagged (see the warnings below). Listen with Play; to keep it as it is, " +
        `press ${KEEP_ANYWAY}. Or record it again.`,
    );
    buttons.keep.focus();
    return;
  }
  buttons.keep.disabled = true;
  stopPlaying();
  clearError();
  say("Keeping the take and building the recording…");
  try {
    const flagged = take.confirming ? "&flagged=keep" : "";
    const reply = await fetch(
      `/studio/keep/${prompt.language}/${encodeURIComponent(prompt.id)}?fingerprint=${prompt.fingerprint}${flagged}`,
      { method: "POST", headers: { "Content-Type": take.blob.type }, body: take.blob },
    );
    const body = await reply.json();
    if (!reply.ok) {
      if (body.flagged) {
        take.confirming = true; // the studio found what the page did not: ask again
        showKeep(take);
      }
      throw new Error(body.error);
    }
    takes.delete(key);
    Object.assign(prompt, body.prompt);
    fillItem($(itemId(key)), prompt);
    applyFilters();
    if (key === selected) {
      select(key, false);
      say(`Kept: ${body.kept}, built into ${body.built} (${prompt.duration.toFixed(1)} s).`);
    }
  } catch (error) {
    if (key === selected) {
      showError(
        error instanceof TypeError
          ? `The studio could not be reached (${error.message}). Is \`ivr studio\` still running? The take is still here.`
          : error.message,
      );
      say("");
      buttons.keep.disabled = false;
    }
  }
}

// --- the recording the line plays, and undoing a keep ---------------------------------------

function showKept(prompt) {
  buttons.playKept.disabled = !prompt?.playable || Boolean(recording);
  buttons.undo.disabled = !prompt?.undo || Boolean(recording);
}

async function playKept() {
  const prompt = byKey(selected);
  if (!prompt?.playable) return;
  const audio = $("kept-audio");
  // The very file the line plays, fetched afresh: a keep or an undo replaces it.
  audio.src = `/studio/recording/${prompt.language}/${encodeURIComponent(prompt.id)}?at=${Date.now()}`;
  try {
    await audio.play();
    say(`Playing the recording the line plays for ${prompt.id}…`);
  } catch (error) {
    showError(`The recording could not be played (${error.message}).`);
  }
}

async function undo() {
  const key = selected;
  const prompt = byKey(key);
  if (!prompt?.undo) return;
  buttons.undo.disabled = true;
  stopPlaying();
  clearError();
  say("Undoing the last keep and building the recording again…");
  try {
    const reply = await fetch(`/studio/undo/${prompt.language}/${encodeURIComponent(prompt.id)}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
    const body = await reply.json();
    if (!reply.ok) throw new Error(body.error);
    Object.assign(prompt, body.prompt);
    fillItem($(itemId(key)), prompt);
    applyFilters();
    if (key === selected) {
      select(key, false);
      say(
        body.restored
          ? `Undone: ${body.restored} is back, built into ${body.built}. Undo again to return to the take you kept.`
          : `Undone: the prompt has its earlier recording again. Undo again to return to the take you kept.`,
      );
    }
  } catch (error) {
    if (key === selected) {
      showError(
        error instanceof TypeError
          ? `The studio could not be reached (${error.message}). Is \`ivr studio\` still running?`
          : error.message,
      );
      showKept(prompt);
    }
  }
}

// Whatever plays stops when something else is done, so its end never talks over the news.
function stopPlaying() {
  for (const audio of [$("preview"), $("kept-audio")]) audio.pause();
}

function say(text) {
  $("message").textContent = text;
}

function showError(text) {
  $("error").textContent = text;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error").textContent = "";
}

// --- wiring -------------------------------------------------------------------------------

buttons.record.addEventListener("click", startRecording);
buttons.stop.addEventListener("click", stopRecording);
buttons.play.addEventListener("click", play);
buttons.keep.addEventListener("click", keep);
buttons.playKept.addEventListener("click", playKept);
buttons.undo.addEventListener("click", undo);
$("kept-audio").addEventListener("ended", () => say("Played."));
$("preview").addEventListener("ended", () => say("Played."));
$("next").addEventListener("click", nextToRecord);
for (const filter of [$("language-filter"), $("status-filter")]) {
  filter.addEventListener("change", () => {
    applyFilters();
    if (!byKey(selected) || !visible(byKey(selected))) select(prompts.find(visible)?.key ?? null);
  });
}

document.addEventListener("keydown", (event) => {
  if (event.target.closest("select, input, textarea") || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === " ") {
    event.preventDefault(); // not a click on the focused button as well
    if (!event.repeat) recording ? stopRecording() : startRecording();
  } else if (event.key === "ArrowDown" || event.key === "ArrowRight") {
    event.preventDefault();
    move(1);
  } else if (event.key === "ArrowUp" || event.key === "ArrowLeft") {
    event.preventDefault();
    move(-1);
  }
});
document.addEventListener("keyup", (event) => {
  if (event.key === " " && !event.target.closest("select, input, textarea")) event.preventDefault();
});
window.addEventListener("beforeunload", (event) => {
  if (recording || [...takes.values()].some((t) => t.blob)) event.preventDefault();
});

load();
