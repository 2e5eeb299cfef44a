// The latent explorer's page script (aekit.report.explore): a decoder interpreter and the page's parts.
// It reads the JSON in <script id="explorer-data">; it loads nothing and sends nothing.
"use strict";
(function () {
  const D = JSON.parse(document.getElementById("explorer-data").textContent);

  // -- arrays embedded as base64 (little-endian) ----------------------------------------------------------
  function bytes(b64) {
    const text = atob(b64), out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
    return out;
  }
  const f32 = (b64) => new Float32Array(bytes(b64).buffer);
  const i32 = (b64) => new Int32Array(bytes(b64).buffer);

  const n = D.n, k = D.k, d = D.d;
  const codes = f32(D.codes);  // (n, k)
  const points = f32(D.map.points);  // (n, 2)
  const labels = D.labels ? i32(D.labels) : null;
  const rows = i32(D.rows);
  const inputs = D.inputs_dtype === "uint8" ? bytes(D.inputs) : f32(D.inputs);  // (n, d)
  const [low, high] = D.range;

  // -- the decoder: the program of aekit.analysis.decoder_program, in float64 ------------------------------
  const program = D.program.map((op) => Object.assign({}, op, {
    weight: op.weight ? f32(op.weight) : null, bias: op.bias ? f32(op.bias) : null}));

  function linear(op, a) {  // y = W a + b, W (out, in) row-major
    const [nOut, nIn] = op.weight_shape, W = op.weight, y = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = op.bias[o];
      const row = o * nIn;
      for (let i = 0; i < nIn; i++) s += W[row + i] * a[i];
      y[o] = s;
    }
    return y;
  }

  function convTranspose(op, a) {  // (C_in, h, w) -> (C_out, H, W): each input pixel adds its kernel at (y*s - p, x*s - p)
    const [cIn, h, w] = op.in_shape, [cOut, H, Wd] = op.out_shape, [, , kh, kw] = op.weight_shape;
    const [sh, sw] = op.stride, [ph, pw] = op.padding, K = op.weight;
    const y = new Float64Array(cOut * H * Wd);
    for (let o = 0; o < cOut; o++) y.fill(op.bias[o], o * H * Wd, (o + 1) * H * Wd);
    for (let c = 0; c < cIn; c++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < w; ix++) {
          const v = a[(c * h + iy) * w + ix];
          if (v === 0) continue;
          for (let o = 0; o < cOut; o++) {
            const kBase = (c * cOut + o) * kh * kw, oBase = o * H * Wd;
            for (let i = 0; i < kh; i++) {
              const oy = iy * sh - ph + i;
              if (oy < 0 || oy >= H) continue;
              for (let j = 0; j < kw; j++) {
                const ox = ix * sw - pw + j;
                if (ox < 0 || ox >= Wd) continue;
                y[oBase + oy * Wd + ox] += v * K[kBase + i * kw + j];
              }
            }
          }
        }
      }
    }
    return y;
  }

  function activation(op, a) {
    const y = new Float64Array(a.length);
    const name = op.name;
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (name === "relu") y[i] = v > 0 ? v : 0;
      else if (name === "sigmoid") y[i] = 1 / (1 + Math.exp(-v));
      else if (name === "tanh") y[i] = Math.tanh(v);
      else if (name === "leaky_relu") y[i] = v > 0 ? v : op.slope * v;
      else if (name === "elu") y[i] = v > 0 ? v : op.alpha * Math.expm1(v);
      else throw new Error("unknown activation " + name);
    }
    return y;
  }

  function decode(code) {  // code: k numbers -> d numbers (Float64Array)
    let a = Float64Array.from(code);
    for (const op of program) {
      if (op.op === "linear") a = linear(op, a);
      else if (op.op === "activation") a = activation(op, a);
      else if (op.op === "conv_transpose") a = convTranspose(op, a);
      else if (op.op !== "reshape") throw new Error("unknown operation " + op.op);  // reshape: the layout is already (C, h, w)
    }
    return a;
  }

  // -- drawing a sample: an image (grey, RGB, other channel counts side by side) or a bar chart ------------
  const C = D.channels, H = D.height, W = D.width;
  const SCALE = Math.max(1, Math.floor(196 / Math.max(H, W)));
  const toByte = (v) => Math.round(Math.min(1, Math.max(0, (v - low) / (high - low))) * 255);

  function setupCanvas(canvas, size) {
    if (D.display === "image") {
      canvas.width = C === 3 ? W : W * C;
      canvas.height = H;
      canvas.style.width = canvas.width * size + "px";
      canvas.style.height = H * size + "px";
    } else {
      canvas.className = "bars";
      canvas.width = size > 2 ? 360 : 200;
      canvas.height = size > 2 ? 160 : 90;
    }
  }

  function drawImage(canvas, values, isBytes) {  // values: d numbers in (C, H, W) order
    const ctx = canvas.getContext("2d"), img = ctx.createImageData(canvas.width, canvas.height), px = img.data;
    const value = isBytes ? (i) => values[i] : (i) => toByte(values[i]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        if (C === 3) {
          const p = (y * W + x) * 4;
          px[p] = value(y * W + x); px[p + 1] = value((H + y) * W + x); px[p + 2] = value((2 * H + y) * W + x);
          px[p + 3] = 255;
        } else {
          for (let c = 0; c < C; c++) {
            const p = (y * canvas.width + c * W + x) * 4, g = value((c * H + y) * W + x);
            px[p] = px[p + 1] = px[p + 2] = g;
            px[p + 3] = 255;
          }
        }
      }
    }
    ctx.putImageData(img, 0, 0);
  }

  function drawBars(canvas, values, reference) {  // the features as bars; a reference (the input) as grey bars behind
    const ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, w, h);
    const lo = Math.min(low, 0), hi = Math.max(high, 0);
    const yOf = (v) => h - 4 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo || 1) * (h - 8);
    const step = w / d, zero = yOf(0);
    ctx.strokeStyle = "#bbb";
    ctx.beginPath(); ctx.moveTo(0, zero); ctx.lineTo(w, zero); ctx.stroke();
    const series = reference ? [[reference, "#c8c8c8", 0], [values, "#1f77b4", 0.25]] : [[values, "#1f77b4", 0.1]];
    for (const [vals, colour, inset] of series) {
      ctx.fillStyle = colour;
      for (let i = 0; i < d; i++) {
        const y = yOf(vals[i]);
        ctx.fillRect(i * step + step * inset, Math.min(y, zero), Math.max(1, step * (1 - 2 * inset)), Math.abs(zero - y));
      }
    }
  }

  function inputOf(i) { return inputs.subarray(i * d, (i + 1) * d); }
  function codeOf(i) { return Array.from(codes.subarray(i * k, (i + 1) * k)); }

  function draw(canvas, values, reference) {
    if (D.display === "image") drawImage(canvas, values, false);
    else drawBars(canvas, values, reference);
  }
  function drawInput(canvas, i) {
    if (D.display === "image") drawImage(canvas, inputOf(i), true);
    else drawBars(canvas, inputOf(i), null);
  }

  // -- state, and what the tests read ------------------------------------------------------------------------
  const state = {code: new Float64Array(k), decoded: null, a: null, b: null, lastRedrawMs: null, hover: null};
  const decodedCanvas = document.getElementById("decoded"), pickedCanvas = document.getElementById("picked");
  setupCanvas(decodedCanvas, SCALE);
  setupCanvas(pickedCanvas, SCALE);

  function redraw() {  // decode the sliders' code and draw it; the time it took is kept for the tests
    const start = performance.now();
    state.decoded = decode(state.code);
    draw(decodedCanvas, state.decoded, state.a === null ? null : inputOf(state.a));
    state.lastRedrawMs = performance.now() - start;
  }

  // -- sliders -----------------------------------------------------------------------------------------------
  const sliderBox = document.getElementById("sliders"), sliders = {};
  for (const j of D.sliders) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    Object.assign(input, {type: "range", min: D.low[j], max: D.high[j], step: "any", value: 0});
    input.dataset.unit = j;
    const out = document.createElement("output");
    label.append("h" + j, input, out);
    sliderBox.append(label);
    input.addEventListener("input", () => {
      state.code[j] = Number(input.value);
      out.textContent = state.code[j].toFixed(3);
      redraw();
    });
    sliders[j] = [input, out];
  }
  function showCode() {  // the sliders follow state.code
    for (const j of D.sliders) {
      const [input, out] = sliders[j];
      input.value = state.code[j];
      out.textContent = state.code[j].toFixed(3);
    }
  }
  function setCode(code) {
    state.code = Float64Array.from(code);
    showCode();
    redraw();
  }

  // -- the map -----------------------------------------------------------------------------------------------
  const map = document.getElementById("map"), mctx = map.getContext("2d");
  const colourOf = {};
  if (D.classes) for (const c of D.classes) colourOf[c.value] = c.colour;
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, points[2 * i]); maxX = Math.max(maxX, points[2 * i]);
    minY = Math.min(minY, points[2 * i + 1]); maxY = Math.max(maxY, points[2 * i + 1]);
  }
  const M = 14, spanX = (maxX - minX) || 1, spanY = (maxY - minY) || 1;
  const px = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) {
    px[2 * i] = M + (points[2 * i] - minX) / spanX * (map.width - 2 * M);
    px[2 * i + 1] = map.height - M - (points[2 * i + 1] - minY) / spanY * (map.height - 2 * M);
  }
  function drawMap() {
    mctx.clearRect(0, 0, map.width, map.height);
    for (let i = 0; i < n; i++) {
      mctx.fillStyle = labels ? colourOf[labels[i]] : "#4a78b5";
      mctx.globalAlpha = 0.75;
      mctx.beginPath(); mctx.arc(px[2 * i], px[2 * i + 1], 2.6, 0, 2 * Math.PI); mctx.fill();
    }
    mctx.globalAlpha = 1;
    for (const [i, name] of [[state.a, "A"], [state.b, "B"]]) {
      if (i === null) continue;
      mctx.strokeStyle = "#000"; mctx.lineWidth = 2;
      mctx.beginPath(); mctx.arc(px[2 * i], px[2 * i + 1], 7, 0, 2 * Math.PI); mctx.stroke();
      mctx.fillStyle = "#000"; mctx.font = "bold 12px sans-serif"; mctx.fillText(name, px[2 * i] + 8, px[2 * i + 1] - 8);
    }
  }
  const legend = document.getElementById("legend");
  if (D.classes) {
    for (const c of D.classes) {
      const span = document.createElement("span"), dot = document.createElement("i");
      dot.style.background = c.colour;
      span.append(dot, c.name);
      legend.append(span);
    }
  } else {
    legend.textContent = "No labels: every point has one colour.";
  }
  legend.append(` Map: ${D.map.method === "code" ? "the code itself" : D.map.method + " of the codes"}.`);

  function nearest(event) {
    const rect = map.getBoundingClientRect();
    const x = (event.clientX - rect.left) * map.width / rect.width, y = (event.clientY - rect.top) * map.height / rect.height;
    let best = -1, bestD = 64;  // within 8 px
    for (let i = 0; i < n; i++) {
      const dd = (px[2 * i] - x) ** 2 + (px[2 * i + 1] - y) ** 2;
      if (dd < bestD) { bestD = dd; best = i; }
    }
    return best;
  }
  const labelText = (i) => labels ? (D.classes.find((c) => c.value === labels[i]) || {name: labels[i]}).name : null;
  const pointName = (i) => `test row ${rows[i]}` + (labels ? `, label ${labelText(i)}` : "");

  const hover = document.getElementById("hover"), hoverInput = document.getElementById("hover-input");
  const hoverRecon = document.getElementById("hover-recon");
  setupCanvas(hoverInput, Math.max(1, Math.floor(SCALE / 2)));
  setupCanvas(hoverRecon, Math.max(1, Math.floor(SCALE / 2)));
  function showHover(i) {  // the point's input and its reconstruction, decoded here
    state.hover = i;
    if (i < 0) { hover.style.display = "none"; return; }
    document.getElementById("hover-title").textContent = pointName(i);
    drawInput(hoverInput, i);
    draw(hoverRecon, decode(codeOf(i)), D.display === "image" ? null : inputOf(i));
    hover.style.display = "block";
    const left = px[2 * i] + 14, top = px[2 * i + 1] + 14;
    hover.style.left = Math.min(left, map.width - 40) + "px";
    hover.style.top = Math.min(top, map.height - 40) + "px";
  }
  map.addEventListener("mousemove", (event) => showHover(nearest(event)));
  map.addEventListener("mouseleave", () => showHover(-1));

  // -- picking points, interpolating, sampling the prior -----------------------------------------------------
  const status = document.getElementById("status"), interp = document.getElementById("interp");
  const tSlider = document.getElementById("interpolate"), tOut = document.getElementById("t");
  function select(i) {  // point A: its code into the sliders
    state.a = i; state.b = null;
    interp.hidden = true;
    drawInput(pickedCanvas, i);
    document.getElementById("picked-caption").textContent = "input of A: " + pointName(i);
    status.textContent = `A = ${pointName(i)}. Move a slider, or shift-click a second point to interpolate.`;
    setCode(codeOf(i));
    drawMap();
  }
  function selectB(i) {  // point B: the interpolation slider between A and B appears
    if (state.a === null) { select(i); return; }
    state.b = i;
    interp.hidden = false;
    tSlider.value = 0;
    status.textContent = `A = ${pointName(state.a)}, B = ${pointName(i)}. Slide t from A (0) to B (1).`;
    interpolate(0);
    drawMap();
  }
  function interpolate(t) {  // h = (1 - t) h_A + t h_B
    const ha = codeOf(state.a), hb = codeOf(state.b);
    tSlider.value = t;
    tOut.textContent = `t = ${Number(t).toFixed(2)}`;
    setCode(ha.map((v, j) => (1 - t) * v + t * hb[j]));
  }
  tSlider.addEventListener("input", () => interpolate(Number(tSlider.value)));
  map.addEventListener("click", (event) => {
    const i = nearest(event);
    if (i >= 0) (event.shiftKey ? selectB : select)(i);
  });
  function gaussian() {  // Box-Muller
    const u = 1 - Math.random(), v = Math.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  function samplePrior() {
    state.b = null;
    interp.hidden = true;
    status.textContent = "A code drawn from the prior N(0, I).";
    setCode(Array.from({length: k}, gaussian));
    drawMap();
  }
  const priorButton = document.getElementById("sample-prior");
  if (priorButton) priorButton.addEventListener("click", samplePrior);

  drawMap();
  select(0);
  window.aekitExplorer = {
    select, selectB, interpolate, samplePrior, setCode, decode, data: D,
    code: () => Array.from(state.code), codeOf, decoded: () => Array.from(state.decoded),
    picked: () => [state.a, state.b], lastRedrawMs: () => state.lastRedrawMs,
    pointOnMap: (i) => [px[2 * i], px[2 * i + 1]], hovered: () => state.hover,
  };
})();
