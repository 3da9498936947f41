"use strict";
// A phone in the browser: follows the line's real TwiML the way Twilio does.
(() => {
  const texts = JSON.parse(document.getElementById("recording-texts").textContent);
  const query = new URLSearchParams(location.search);
  // ?rate=4 plays and times out four times faster, for impatient testing.
  const rate = Math.min(Math.max(Number(query.get("rate")) || 1, 0.25), 16);
  const relay = new URL("phone/twiml", location.href).href;
  const $ = (id) => document.getElementById(id);
  const keyButtons = [...document.querySelectorAll(".key")];
  let call = null; // {id, gen, docUrl, gather, dial, stop}

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const current = (gen) => call !== null && call.gen === gen;

  function log(text, kind) {
    const item = document.createElement("li");
    item.className = kind;
    item.textContent = text;
    $("transcript").append(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function status(text) {
    $("status").textContent = text;
  }

  function stopSound() {
    if (call && call.stop) call.stop();
  }

  async function request(url, params) {
    if (!call) return;
    const gen = ++call.gen;
    stopSound();
    call.gather = null;
    let response;
    try {
      response = await fetch(relay, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ url, params, call: call.id }),
      });
    } catch (error) {
      return fail(`network error: ${error.message}`);
    }
    if (!current(gen)) return;
    // The page's own limit on calls from one place, not the line's: it says so, and why.
    if (response.status === 429) return end(await response.text());
    if (!response.ok) return fail(`application error: HTTP ${response.status}`);
    const twiml = new DOMParser().parseFromString(await response.text(), "text/xml");
    if (!current(gen)) return;
    if (twiml.documentElement.tagName !== "Response") return fail("application error: invalid TwiML");
    call.docUrl = url;
    return run([...twiml.documentElement.children], gen);
  }

  async function run(verbs, gen) {
    for (let i = 0; i < verbs.length; i++) {
      if (!current(gen)) return;
      const verb = verbs[i];
      const rest = verbs.slice(i + 1);
      switch (verb.tagName) {
        case "Say":
        case "Play":
          await speak(verb, gen);
          break;
        case "Pause":
          await sleep((Number(verb.getAttribute("length")) || 1) * 1000 / rate);
          break;
        case "Gather":
          return gather(verb, rest, gen);
        case "Redirect":
          return request(new URL(verb.textContent.trim(), call.docUrl).href, {});
        case "Dial":
          return dial(verb, rest);
        case "Hangup":
          return end("The line hung up.");
        default:
          return fail(`unexpected <${verb.tagName}>`);
      }
    }
    return end("The call ended.");
  }

  function speak(verb, gen) {
    const content = verb.textContent.trim();
    if (verb.tagName === "Say") {
      log(content, "line");
      const seconds = Math.max(1, content.split(/\s+/).length / 2.7);
      return sleep(seconds * 1000 / rate);
    }
    const path = new URL(content, location.href).pathname;
    const file = Object.keys(texts).find((f) => path.endsWith(`/${f}`));
    log(file ? texts[file] : content, "line recording");
    return playRecording(content, gen);
  }

  function playRecording(url, gen) {
    const audio = new Audio();
    audio.preload = "auto";
    audio.src = url;
    audio.dataset.src = url;
    $("players").append(audio);
    return new Promise((resolve) => {
      const done = () => {
        audio.pause();
        if (call && call.stop === done) call.stop = null;
        resolve();
      };
      if (!current(gen)) return done();
      call.stop = done;
      audio.addEventListener("ended", done);
      audio.addEventListener("error", () => {
        log("(the recording could not be played)", "system");
        done();
      });
      audio.addEventListener("loadedmetadata", () => { audio.playbackRate = rate; });
      audio.play().catch((error) => {
        // A key pressed during the recording pauses it: that is barge-in, not a failure.
        if (error.name === "NotAllowedError" && current(gen)) {
          log("(the browser blocked sound: allow it for this page to hear the line)", "system");
        }
        done();
      });
    });
  }

  async function gather(verb, rest, gen) {
    const speech = (verb.getAttribute("input") || "dtmf").includes("speech");
    call.gather = {
      action: new URL(verb.getAttribute("action") || call.docUrl, call.docUrl).href,
      speech,
    };
    $("words").disabled = $("say").disabled = !speech;
    status(speech ? "Listening: press a key or say something" : "Listening for keys only");
    for (const nested of verb.children) {
      if (!current(gen)) return;
      if (nested.tagName === "Say" || nested.tagName === "Play") await speak(nested, gen);
    }
    if (!current(gen)) return;
    const timeout = Number(verb.getAttribute("timeout")) || 5;
    status(`Waiting ${timeout} s for a key…`);
    await sleep(timeout * 1000 / rate);
    if (!current(gen) || !call.gather) return;
    const action = call.gather.action;
    call.gather = null;
    log(`(silence for ${timeout} s)`, "caller");
    if (verb.getAttribute("actionOnEmptyResult") === "true") return request(action, {});
    return run(rest, gen);
  }

  function dial(verb, rest) {
    const number = (verb.querySelector("Number") || verb).textContent.trim();
    const callerId = verb.getAttribute("callerId") || "the caller's own number";
    log(`Transferring to ${number} (the advocate sees ${callerId})`, "system");
    status("Transferring to a peer advocate…");
    call.dial = { action: verb.getAttribute("action"), rest, gen: call.gen };
    $("transfer-number").textContent = number;
    $("transfer").hidden = false;
    $("transfer").querySelector("button").focus();
  }

  function transferEnds(outcome, label) {
    if (!call || !call.dial) return;
    const { action, rest, gen } = call.dial;
    call.dial = null;
    $("transfer").hidden = true;
    log(`The transfer ended: ${label}`, "caller");
    if (action) return request(new URL(action, call.docUrl).href, { DialCallStatus: outcome });
    return run(rest, gen);
  }

  function press(key) {
    const button = keyButtons.find((b) => b.dataset.key === key);
    if (button) {
      button.classList.add("pressed");
      setTimeout(() => button.classList.remove("pressed"), 150);
    }
    if (!call || !call.gather) return; // as on a real line, keys count only while listening
    const action = call.gather.action;
    log(`You pressed ${key}`, "caller");
    request(action, { Digits: key });
  }

  function speakWords(words) {
    if (!call || !call.gather || !words) return; // heard only while the line listens
    if (!call.gather.speech) {
      log(`You said: "${words}" (not heard: the line listens for keys only)`, "caller");
      return;
    }
    const action = call.gather.action;
    log(`You said: "${words}"`, "caller");
    request(action, { SpeechResult: words });
  }

  function setInCall(inCall) {
    $("call").disabled = inCall;
    $("hangup").disabled = !inCall;
    $("words").disabled = !inCall;
    $("say").disabled = !inCall;
    keyButtons.forEach((b) => { b.disabled = !inCall; });
  }

  function end(text) {
    stopSound();
    log(text, "system");
    status("Not in a call");
    $("transfer").hidden = true;
    call = null;
    setInCall(false);
    $("call").focus();
  }

  function fail(text) {
    log(text, "error");
    end("The call failed.");
  }

  function start() {
    $("transcript").replaceChildren();
    $("players").replaceChildren();
    const hex = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0"));
    call = { id: `CA${hex.join("")}`, gen: 0 };
    setInCall(true);
    status("Calling…");
    log("Calling the line…", "system");
    request(new URL("voice", location.href).href, {});
  }

  $("call").addEventListener("click", start);
  $("hangup").addEventListener("click", () => call && end("You hung up."));
  keyButtons.forEach((b) => b.addEventListener("click", () => press(b.dataset.key)));
  document.querySelectorAll("[data-outcome]").forEach((b) =>
    b.addEventListener("click", () => transferEnds(b.dataset.outcome, b.textContent.toLowerCase())));
  $("speak").addEventListener("submit", (event) => {
    event.preventDefault();
    speakWords($("words").value.trim());
    $("words").value = "";
  });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target === $("words")) return;
    if ("0123456789*#".includes(event.key) && event.key.length === 1) {
      event.preventDefault();
      press(event.key);
    }
  });
})();
