// The explorer's scatter: plotly.js drawn from the model's `figure`, reporting boxes, lassos and
// clicks to Python as messages of their own (never merged with other state, so never lost).

let loading = null;

function plotly(model) {
  // plotly.js comes from the Python package (nothing from a CDN), once per page, by a message
  // rather than as state: so that a saved notebook does not carry it. It sets window.Plotly.
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const receive = (message) => {
        if (!message || typeof message.plotly_js !== "string") return;
        model.off("msg:custom", receive);
        const url = URL.createObjectURL(new Blob([message.plotly_js], { type: "text/javascript" }));
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => resolve(window.Plotly);
        script.onerror = reject;
        document.head.appendChild(script);
      };
      model.on("msg:custom", receive);
      model.send({ event: "need-plotly" });
    });
  }
  return loading;
}

function numbers(view) {
  // float64 arrays arrive as DataViews over the message's buffers.
  if (!view || !view.buffer) return view || [];
  return new Float64Array(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
}

function figure(model) {
  const spec = model.get("figure");
  const data = (spec.data || []).map((trace) => {
    const out = { ...trace, x: numbers(trace.x), y: numbers(trace.y) };
    if (trace.marker && trace.marker.color && trace.marker.color.buffer) {
      out.marker = { ...trace.marker, color: numbers(trace.marker.color) };
    }
    return out;
  });
  return { data, layout: { ...spec.layout, autosize: true } };
}

async function render({ model, el }) {
  const Plotly = await plotly(model);
  const div = document.createElement("div");
  div.className = "orq-scatter";
  div.style.width = "100%";
  div.style.minWidth = "0";
  // A height of its own: with a selection, plotly.js sizes its .svg-container at 100% of this div,
  // which without one collapses to 0 px at the next resize.
  const sized = (layout) => { div.style.height = `${layout.height || 470}px`; };
  el.appendChild(div);
  // From Python (ScatterWidget.config): among others, nothing in the modebar uploads the chart.
  const config = { ...model.get("config") };
  const { data, layout } = figure(model);
  sized(layout);
  await Plotly.newPlot(div, data, layout, config);
  div.on("plotly_selected", (event) => {
    if (!event) return;
    if (event.range) model.send({ event: "box", x: event.range.x, y: event.range.y });
    else if (event.lassoPoints) model.send({ event: "lasso", x: event.lassoPoints.x, y: event.lassoPoints.y });
  });
  div.on("plotly_deselect", () => model.send({ event: "deselect" }));
  div.on("plotly_click", (event) => {
    const point = event && event.points && event.points[0];
    if (point) model.send({ event: "click", trace: point.curveNumber, index: point.pointIndex });
  });
  const redraw = () => {
    const next = figure(model);
    sized(next.layout);
    Plotly.react(div, next.data, next.layout, config);
  };
  model.on("change:figure", redraw);
  const resize = new ResizeObserver(() => Plotly.Plots.resize(div));
  resize.observe(el);
  el.dataset.ready = "true";
  return () => {
    model.off("change:figure", redraw);
    resize.disconnect();
    Plotly.purge(div);
  };
}

export default { render };
