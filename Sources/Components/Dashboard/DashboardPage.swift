// The dashboard's page: one HTML document with its script, polling the JSON endpoints once a second
// and drawing its charts as SVG by hand (no script library to fetch: it works offline and in tests).

enum DashboardPage {
    static func html(base: String) -> String {
        template.replacingBase(with: base)
    }

    private static let template = #"""
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Workerman for Swift: dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 14px system-ui, sans-serif; margin: 16px; background: #f6f7f9; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 20px 0 6px; }
#meta { color: #666; margin-bottom: 8px; }
table { border-collapse: collapse; background: #fff; font-size: 12px; white-space: nowrap; }
th, td { border: 1px solid #ddd; padding: 2px 6px; text-align: right; } th { background: #eef; }
td.l, th.l { text-align: left; }
tr.busy td { background: #ffe3e0; }
.cards { display: flex; gap: 10px; flex-wrap: wrap; }
.card { background: #fff; border: 1px solid #ddd; padding: 8px 14px; min-width: 110px; }
.card b { display: block; font-size: 22px; }
#busy { background: #ffe3e0; border: 1px solid #e99; padding: 8px; margin-top: 8px; display: none; }
svg { background: #fff; border: 1px solid #ddd; }
.legend span { margin-right: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
#down { color: #b00; display: none; }
</style></head>
<body>
<h1>Workerman for Swift <span id="down">(not reachable: retrying)</span></h1>
<div id="meta"></div>
<div class="cards" id="cards"></div>
<div id="busy"></div>
<h2>Requests per second per process (last minutes)</h2>
<svg id="chart" width="900" height="220"></svg><div class="legend" id="legend"></div>
<h2>Processes</h2>
<table id="processes"></table>
<h2>Exits</h2>
<table id="exits"></table>
<h2>Statistics (per interface, this minute and the last ones)</h2>
<table id="statistics"></table>
<svg id="stat-chart" width="900" height="160"></svg><div class="legend" id="stat-legend"></div>
<svg id="latency-chart" width="900" height="160"></svg><div class="legend" id="latency-legend"></div>
<svg id="success-chart" width="900" height="160"></svg><div class="legend" id="success-legend"></div>
<div id="stat-meta"></div>
<script>
const base = "@BASE@";
const colors = ["#1f77b4","#ff7f0e","#2ca02c","#d62728","#9467bd","#8c564b","#e377c2","#7f7f7f","#bcbd22","#17becf"];
const el = id => document.getElementById(id);
const esc = s => String(s).replace(/[&<>"]/g, c => ({"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;"}[c]));
function row(cells, cls, header) {
  const tag = header ? "th" : "td";
  return "<tr" + (cls ? " class=\"" + cls + "\"" : "") + ">" +
    cells.map((c, i) => "<" + tag + (i < 3 || (typeof c === "string" && isNaN(c)) ? " class=\"l\"" : "") + ">" + esc(c) + "</" + tag + ">").join("") + "</tr>";
}
function line(svg, values, max, color, width, height) {
  const step = width / Math.max(1, values.length - 1);
  let d = "", dots = "", pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    const x = (i * step).toFixed(1), y = (height - 4 - (v / max) * (height - 24)).toFixed(1);
    d += (pen ? "L" : "M") + x + " " + y + " "; pen = true;
    // A dot per sample too: a minute with calls between empty ones is one point, not a line.
    dots += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"2\" fill=\"" + color + "\"/>";
  });
  return d ? "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"1.5\"/>" + (values.length <= 60 ? dots : "") : "";
}
function chart(svg, legend, series, label) {
  const width = svg.width.baseVal.value, height = svg.height.baseVal.value;
  let max = 0;
  series.forEach(s => s.values.forEach(v => { if (v !== null && v > max) max = v; }));
  if (max <= 0) max = 1;
  let out = "<text x=\"4\" y=\"14\" font-size=\"11\" fill=\"#666\">max " + (max < 1 ? max.toPrecision(2) : max.toFixed(1)) + " " + label + "</text>";
  series.forEach((s, i) => { out += line(svg, s.values, max, colors[i % colors.length], width, height); });
  svg.innerHTML = out;
  legend.innerHTML = series.map((s, i) => "<span><i style=\"background:" + colors[i % colors.length] + "\"></i>" + esc(s.name) + "</span>").join("");
}
async function get(path) {
  const response = await fetch(base + path, {cache: "no-store"});
  if (!response.ok) throw new Error(response.status);
  return response.json();
}
async function refresh() {
  try {
    const [status, history, statistics] = await Promise.all([get("/api/status"), get("/api/history"), get("/api/statistics")]);
    el("down").style.display = "none";
    const ps = status.processes;
    el("meta").textContent = "master pid " + status.masterPID + ", started " + new Date(status.startedAt * 1000).toLocaleString() + ", " + ps.length + " processes";
    const sum = k => ps.reduce((a, p) => a + p[k], 0);
    el("cards").innerHTML = [["processes", ps.length], ["connections", sum("connections")], ["requests", sum("totalRequest")],
      ["memory", sum("memoryMB").toFixed(1) + " MB"], ["packet_err", sum("packetErr")], ["exceptions", sum("throwException")],
      ["exits", status.exits.reduce((a, e) => a + e.count, 0)]].map(([k, v]) => "<div class=\"card\">" + k + "<b>" + esc(v) + "</b></div>").join("");
    const busy = ps.filter(p => p.busy);
    el("busy").style.display = busy.length ? "block" : "none";
    el("busy").innerHTML = busy.map(p => "<b>busy</b>: pid " + p.pid + " (" + esc(p.worker) + ") in <b>" + esc(p.busy.callback) + "</b> " +
      esc(p.busy.subject) + " for " + p.busy.seconds.toFixed(1) + " s").join("<br>");
    el("processes").innerHTML = row(["pid", "worker_name", "state", "listening", "memory", "connections", "total_request", "packet_err",
      "thunder_herd", "client_close", "send_fail", "throw_exception", "timers"], "", true) +
      ps.map(p => row([p.pid, p.worker, p.state, p.listening, p.memoryMB.toFixed(2) + "M", p.connections, p.totalRequest, p.packetErr,
        p.thunderHerd, p.clientClose, p.sendFail, p.throwException, p.timers], p.busy ? "busy" : "")).join("");
    el("exits").innerHTML = row(["worker_name", "exit_status", "exit_count"], "", true) +
      (status.exits.length ? status.exits.map(e => row([e.worker, e.status, e.count])).join("") : row(["(none)", "", ""]));
    chart(el("chart"), el("legend"), history.series.map(s => ({name: s.worker + " " + s.pid, values: s.rates})), "req/s");
    const is = statistics.interfaces || [];
    el("statistics").innerHTML = row(["module", "interface", "calls", "success %", "avg ms", "max ms", "failures"], "", true) +
      (is.length ? is.map(i => row([i.module, i.interface, i.calls, (i.calls ? 100 * i.success / i.calls : 100).toFixed(1),
        i.calls ? (i.cost / i.calls * 1000).toFixed(2) : "0", (i.maxCost * 1000).toFixed(2), i.calls - i.success])).join("") : row(["(no reports yet)", "", "", "", "", "", ""]));
    const name = i => i.module + "::" + i.interface;
    chart(el("stat-chart"), el("stat-legend"), is.map(i => ({name: name(i) + " calls", values: i.perMinute || []})), "calls/min");
    chart(el("latency-chart"), el("latency-legend"), is.map(i => ({name: name(i) + " avg ms", values: (i.costPerMinute || []).map(c => c * 1000)})), "ms (average per minute)");
    chart(el("success-chart"), el("success-legend"), is.map(i => ({name: name(i) + " success %",
      values: (i.perMinute || []).map((c, k) => c ? 100 * i.successPerMinute[k] / c : null)})), "% successful");
    el("stat-meta").textContent = "reports received " + (statistics.received || 0) + ", forged (ignored) " + (statistics.forged || 0) +
      ", over the interface limit " + (statistics.overflow || 0);
  } catch (error) {
    el("down").style.display = "inline";
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body></html>
"""#
}

private extension String {
    /// The page with its routes under `base` (a path the caller chose, so not user input; escaped anyway).
    func replacingBase(with base: String) -> String {
        var quoted = ""
        DashboardJSON.quote(base, to: &quoted)
        let inner = String(quoted.dropFirst().dropLast()).replacing("<", with: "\\u003c")
        return replacing("@BASE@", with: inner)
    }
}
