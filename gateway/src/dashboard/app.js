// Samling statistics dashboard (ADR 0051): plain modern JavaScript, no build
// step, no framework, nothing from another origin. The DOM is built with
// createElement/textContent only (no HTML strings), so no figure or label
// from an answer is ever parsed as markup.
//
// The token is kept in sessionStorage (this tab only) and sent as
// `Authorization: Bearer`; it never appears in a URL.

const TOKEN_KEY = "samling.dashboard.token";
const MODE_KEY = "samling.dashboard.grid";
const SVG = "http://www.w3.org/2000/svg";

// The county grid: [column, row] of each county on a 5 × 9 tile map of Sweden.
const TILES = {
  "25": [2, 0],
  "24": [2, 1],
  "23": [1, 2],
  "22": [2, 2],
  "20": [1, 3],
  "21": [2, 3],
  "17": [0, 4],
  "18": [1, 4],
  "19": [2, 4],
  "03": [3, 4],
  "14": [0, 5],
  "05": [1, 5],
  "04": [2, 5],
  "01": [3, 5],
  "13": [0, 6],
  "06": [1, 6],
  "08": [2, 6],
  "09": [4, 6],
  "12": [0, 7],
  "07": [1, 7],
  "10": [2, 7],
};

const SERVICES = {
  registry: "registret",
  recruitment: "rekryteringen",
  compensation: "ersättningarna",
  ombud: "barnombudet",
  portfolio: "barnets portfölj",
};

const UNITS = { antal: "antal", kr: "kronor", dagar: "dagar", procent: "procent" };

const state = {
  geo: { regions: [], counties: [], municipalities: [] },
  // "county": the grid shows each county's own figure; "region": the role
  // may not filter by county (the gateway refused it), so each county shows
  // its region's figure and a tile chooses the region.
  gridMode: "county",
  regions: [],
  report: null,
  query: null,
  loading: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs = {}, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// ------------------------------------------------------------ dates

function iso(d) {
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

export function period(kind, today = new Date()) {
  const y = today.getFullYear();
  switch (kind) {
    case "previous-year":
      return [`${y - 1}-01-01`, `${y - 1}-12-31`];
    case "last-12": {
      const from = new Date(y - 1, today.getMonth(), today.getDate() + 1);
      return [iso(from), iso(today)];
    }
    case "current-year":
    default:
      return [`${y}-01-01`, iso(today)];
  }
}

// ------------------------------------------------------------ token

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

// The token's claims, for the "logged in as" line only (the gateway is the
// one that checks the token).
function claims(t) {
  try {
    const part = t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(
      Uint8Array.from(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")), (c) =>
        c.charCodeAt(0),
      ),
    );
    return JSON.parse(json);
  } catch {
    return {};
  }
}

const ROLES = {
  council_member: "rådsledamot",
  national_analyst: "nationell analytiker",
  regional_officer: "regional handläggare",
  service: "tjänst",
};

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path) {
  const res = await fetch(path, {
    headers: { Authorization: `Bearer ${token()}`, Accept: "application/json, text/csv" },
    cache: "no-store",
    credentials: "omit",
  });
  if (!res.ok) {
    let detail = "";
    try {
      const p = await res.json();
      detail = p.detail || p.title || "";
    } catch {
      /* not a problem document */
    }
    const text =
      res.status === 401
        ? "Din token godtogs inte (ogiltig eller utgången). Logga in igen."
        : res.status === 403
          ? "Din roll får inte se den här statistiken."
          : res.status === 429
            ? "För många frågor på kort tid. Vänta en stund och försök igen."
            : `Statistiken kunde inte hämtas (${res.status})${detail ? `: ${detail}` : ""}.`;
    throw new HttpError(res.status, text);
  }
  return res;
}

// ------------------------------------------------------------ query

function currentQuery() {
  return {
    scope: $("scope").value || "national",
    from: $("from").value,
    to: $("to").value,
    county: $("county").value,
    municipality: $("municipality").value,
  };
}

function params(q, extra = {}) {
  const p = new URLSearchParams();
  p.set("scope", q.scope);
  if (q.county) p.set("county", q.county);
  if (q.municipality) p.set("municipality", q.municipality);
  p.set("from", q.from);
  p.set("to", q.to);
  for (const [k, v] of Object.entries(extra)) p.set(k, v);
  return p.toString();
}

function regionName(code) {
  if (code === "national") return "Hela landet";
  const r = state.regions.find((x) => x.code === code);
  return r ? r.name : code;
}

function countyOf(code) {
  return state.geo.counties.find((c) => c.code === code);
}

function describe(q) {
  let where = regionName(q.scope);
  if (q.county) where += `, ${countyOf(q.county)?.name ?? q.county}`;
  if (q.municipality) {
    const m = state.geo.municipalities.find((x) => x.code === q.municipality);
    where += `, ${m ? m.name : q.municipality} kommun`;
  }
  return `${where}, ${q.from} – ${q.to}`;
}

// ------------------------------------------------------------ pickers

function fillRegions(regions) {
  // The answer lists the regions this gateway serves; their names are the
  // reference data's when the answer gives only the code.
  state.regions = (regions || []).map((r) => {
    const known = (state.geo.regions || []).find((g) => g.code === r.code);
    return { code: r.code, name: r.name && r.name !== r.code ? r.name : known ? known.name : r.code };
  });
  const sel = $("scope");
  const keep = sel.value;
  sel.replaceChildren(el("option", { value: "national", text: "Hela landet" }));
  for (const r of state.regions) sel.append(el("option", { value: r.code, text: r.name }));
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "national";
}

function fillCounties() {
  const sel = $("county");
  const keep = sel.value;
  const scope = $("scope").value;
  sel.replaceChildren(el("option", { value: "", text: "Alla län" }));
  for (const c of state.geo.counties) {
    if (scope !== "national" && c.region !== scope) continue;
    sel.append(el("option", { value: c.code, text: c.name }));
  }
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
  fillMunicipalities();
}

function fillMunicipalities() {
  const sel = $("municipality");
  const keep = sel.value;
  const county = $("county").value;
  sel.replaceChildren(el("option", { value: "", text: "Alla kommuner" }));
  for (const m of state.geo.municipalities) {
    if (m.county === county) sel.append(el("option", { value: m.code, text: m.name }));
  }
  sel.disabled = !county;
  sel.value = [...sel.options].some((o) => o.value === keep) ? keep : "";
}

// A county lies in one region: choosing it narrows the scope to that region
// (the services of other regions hold none of its records).
function onCounty() {
  const c = countyOf($("county").value);
  if (c && $("scope").value === "national" && state.regions.some((r) => r.code === c.region)) {
    $("scope").value = c.region;
  }
  fillMunicipalities();
}

// ------------------------------------------------------------ rendering

function showError(text) {
  const e = $("error");
  e.textContent = text || "";
  e.hidden = !text;
}

function renderPartial(report) {
  const box = $("partial");
  box.replaceChildren();
  if (!report.partial) {
    box.hidden = true;
    return;
  }
  box.append(
    el(
      "p",
      {},
      el("strong", { text: "Siffrorna är ofullständiga. " }),
      "Följande svarade inte i tid och saknas i summorna:",
    ),
  );
  const ul = el("ul");
  for (const m of report.missing || []) {
    const svc = m.service ? SERVICES[m.service] || m.service : "alla tjänster";
    ul.append(
      el("li", { text: `${regionName(m.region)}: ${svc}${m.reason ? ` (${m.reason})` : ""}` }),
    );
  }
  box.append(ul);
  box.hidden = false;
}

const isHidden = (cell) => cell.suppressed === true || cell.value === null || cell.value === undefined;

// Which columns a chart draws: the "total" column alone when there is one
// beside others, else every column (at most six).
function chartColumns(table) {
  const idx = table.columns.map((_, i) => i);
  const total = table.columns.findIndex((c) => c.id === "total");
  if (total >= 0 && table.columns.length > 1 && table.chart === "bar") return [total];
  return idx.slice(0, 6);
}

function keys(table, cols, labels) {
  if (cols.length < 2) return null;
  const ul = el("ul", { class: "keys", "aria-hidden": "true" });
  cols.forEach((c, i) =>
    ul.append(el("li", {}, el("span", { class: `sw k${i % 6}` }), labels[i] ?? table.columns[c].label)),
  );
  return ul;
}

function barChart(table, ids) {
  let rows = table.rows.filter((r) => !r.total);
  if (rows.length === 0) rows = table.rows;
  const cols = chartColumns(table);
  const values = rows.flatMap((r) => cols.map((c) => r.cells[c]).filter((x) => x && !isHidden(x)).map((x) => x.value));
  const max = Math.max(1, ...values);
  const band = 10 + 16 * cols.length;
  const left = 190;
  const width = 640;
  const plot = width - left - 60;
  const height = rows.length * band + 10;
  const s = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-labelledby": ids.title,
    "aria-describedby": `${ids.note} ${ids.caption}`,
  });
  s.append(svg("title", { id: ids.title }, `Stapeldiagram: ${table.title}`));
  rows.forEach((r, ri) => {
    const y0 = 5 + ri * band;
    const label = r.label.length > 28 ? `${r.label.slice(0, 27)}…` : r.label;
    s.append(svg("text", { x: left - 8, y: y0 + band / 2 + 4, "text-anchor": "end" }, label));
    cols.forEach((c, ci) => {
      const cell = r.cells[c];
      if (!cell) return;
      const y = y0 + 5 + ci * 16;
      const w = isHidden(cell) ? 0 : Math.round((cell.value / max) * plot);
      if (w > 0) s.append(svg("rect", { x: left, y, width: w, height: 12, class: `s${ci % 6}` }));
      s.append(svg("text", { x: left + w + 5, y: y + 10 }, cell.display));
    });
  });
  s.append(svg("line", { x1: left, y1: 0, x2: left, y2: height, class: "axis" }));
  return [s, keys(table, cols, [])];
}

function seriesChart(table, ids) {
  const rows = table.rows.filter((r) => !r.total).slice(0, 6);
  const n = table.columns.length;
  const width = 640;
  const height = 240;
  const left = 50;
  const right = 35;
  const top = 15;
  const bottom = 40;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  let maxCell = null;
  for (const r of rows)
    for (const c of r.cells) if (!isHidden(c) && (!maxCell || c.value > maxCell.value)) maxCell = c;
  const max = Math.max(1, maxCell ? maxCell.value : 1);
  const x = (i) => left + (n <= 1 ? plotW / 2 : (i * plotW) / (n - 1));
  const y = (v) => top + plotH - (v / max) * plotH;
  const s = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-labelledby": ids.title,
    "aria-describedby": `${ids.note} ${ids.caption}`,
  });
  s.append(svg("title", { id: ids.title }, `Linjediagram över tid: ${table.title}`));
  s.append(svg("line", { x1: left, y1: top + plotH, x2: left + plotW, y2: top + plotH, class: "axis" }));
  s.append(svg("line", { x1: left, y1: top, x2: left, y2: top + plotH, class: "axis" }));
  s.append(svg("line", { x1: left, y1: y(max), x2: left + plotW, y2: y(max), class: "grid" }));
  s.append(svg("text", { x: left - 6, y: top + plotH + 4, "text-anchor": "end" }, "0"));
  if (maxCell && maxCell.value > 0) {
    s.append(svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, maxCell.display));
  }
  const step = Math.max(1, Math.ceil(n / 12));
  table.columns.forEach((c, i) => {
    if (i % step === 0 || i === n - 1) {
      s.append(svg("text", { x: x(i), y: height - bottom + 18, "text-anchor": "middle" }, c.label));
    }
  });
  rows.forEach((r, ri) => {
    // A hidden figure breaks the line: nothing is drawn for it.
    let d = "";
    let pen = false;
    r.cells.forEach((cell, i) => {
      if (i >= n) return;
      if (isHidden(cell)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(cell.value).toFixed(1)} `;
      pen = true;
      s.append(svg("circle", { cx: x(i).toFixed(1), cy: y(cell.value).toFixed(1), r: 3, class: `s${ri % 6}` }));
    });
    if (d) s.append(svg("path", { d: d.trim(), class: `line s${ri % 6}` }));
  });
  const labels = rows.map((r) => r.label);
  const legend = rows.length > 1 ? el("ul", { class: "keys", "aria-hidden": "true" }) : null;
  if (legend) labels.forEach((l, i) => legend.append(el("li", {}, el("span", { class: `sw k${i % 6}` }), l)));
  return [s, legend];
}

function cellNode(cell, isTotal) {
  if (isTotal) return el("td", { text: cell.display });
  if (cell.display === "..") return el("td", { class: "hidden", title: "dold för att skydda små tal", text: ".." });
  if (cell.display === "<5") return el("td", { title: "färre än 5", text: "<5" });
  return el("td", { text: cell.display });
}

function tableNode(table, ids, q) {
  const unit = UNITS[table.unit] || table.unit;
  const caption = el(
    "caption",
    { id: ids.caption },
    `${table.title}`,
    el("span", { class: "sr-only", text: ` (${unit}; ${describe(q)})` }),
  );
  const head = el("tr", {}, el("th", { scope: "col", text: table.unit === "antal" ? "" : unit }));
  for (const c of table.columns) head.append(el("th", { scope: "col", text: c.label }));
  const body = el("tbody");
  for (const r of table.rows) {
    const tr = el("tr", { class: r.total ? "total" : undefined, "data-key": r.key });
    tr.append(el("th", { scope: "row", text: r.label }));
    table.columns.forEach((_, i) => tr.append(cellNode(r.cells[i] || { display: "", value: null }, false)));
    body.append(tr);
  }
  return el(
    "div",
    { class: "table-wrap", role: "region", "aria-labelledby": ids.caption, tabindex: "0" },
    el("table", { id: ids.table }, caption, el("thead", {}, head), body),
  );
}

function csvLink(table, q) {
  const href = `/v1/statistics/${encodeURIComponent(table.id)}.csv?${params(q)}`;
  const a = el(
    "a",
    { class: "csv", href, download: `${table.id}.csv`, "data-table": table.id },
    "Ladda ner CSV",
    el("span", { class: "sr-only", text: `: ${table.title}` }),
  );
  a.addEventListener("click", async (ev) => {
    ev.preventDefault();
    try {
      const res = await api(href);
      const blob = await res.blob();
      const url = URL.createObjectURL(blob);
      const save = el("a", { href: url, download: `${table.id}_${q.scope}_${q.from}_${q.to}.csv` });
      document.body.append(save);
      save.click();
      save.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      $("status").textContent = `CSV-filen för ${table.title} har laddats ner.`;
    } catch (e) {
      if (e.status === 401) return logout(e.message);
      showError(e.message);
    }
  });
  return a;
}

function renderTables(report, q) {
  const box = $("tables");
  box.replaceChildren();
  report.tables.forEach((table, i) => {
    const base = `t${i}`;
    const ids = {
      title: `${base}-title`,
      note: `${base}-note`,
      caption: `${base}-caption`,
      table: `${base}-table`,
    };
    const section = el("section", { class: "stat", "aria-labelledby": `${base}-h`, "data-table": table.id });
    section.append(el("h2", { id: `${base}-h`, text: table.title }));
    let chart = null;
    if (table.chart === "bar") chart = barChart(table, ids);
    else if (table.chart === "series") chart = seriesChart(table, ids);
    if (chart && table.rows.length > 0) {
      section.append(
        el(
          "figure",
          {},
          chart[0],
          chart[1],
          el("p", {
            id: ids.note,
            class: "sr-only",
            text: `Diagrammet visar samma siffror som tabellen ${table.title} nedan.`,
          }),
        ),
      );
    }
    if (table.rows.length === 0) section.append(el("p", { class: "help", text: "Inga uppgifter för urvalet." }));
    if (chart && table.rows.some((r) => r.cells.some(isHidden))) {
      section.append(
        el("p", {
          class: "help",
          text: "Dolda tal (<5 och ..) ritas inte i diagrammet; de står i tabellen.",
        }),
      );
    }
    section.append(tableNode(table, ids, q));
    section.append(csvLink(table, q));
    box.append(section);
  });
}

// ------------------------------------------------------------ county grid

// The figure a table gives a county tile: the total row's "total" cell (or
// its last cell), else the first row's.
export function headline(table) {
  if (!table || table.rows.length === 0) return null;
  const row = table.rows.find((r) => r.total) || table.rows[0];
  const t = table.columns.findIndex((c) => c.id === "total");
  return row.cells[t >= 0 ? t : row.cells.length - 1] || null;
}

function fillMetrics(report) {
  const sel = $("metric");
  const keep = sel.value;
  sel.replaceChildren();
  for (const t of report.tables) {
    if (t.counts && t.chart !== "series") sel.append(el("option", { value: t.id, text: t.title }));
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
  $("map").hidden = sel.options.length === 0;
}

function bin(v, max) {
  if (v === 0) return "c0";
  return `c${Math.min(5, 1 + Math.floor((v / Math.max(1, max)) * 4.999))}`;
}

function setFilterMode(mode) {
  state.gridMode = mode;
  const byCounty = mode === "county";
  for (const id of ["county", "municipality"]) {
    $(id).closest(".field").hidden = !byCounty;
    if (!byCounty) $(id).value = "";
  }
  $("map-help").textContent = byCounty
    ? "Varje ruta är ett län. Välj ett län för att visa bara det länets siffror."
    : "Din roll får se nationella och regionala siffror, inte siffror per län. Varje län visar sin regions siffra; välj ett län för att visa dess region.";
}

function drawGrid(values) {
  const grid = $("grid");
  grid.replaceChildren();
  const shown = Object.values(values).filter((c) => c && !isHidden(c)).map((c) => c.value);
  const max = Math.max(1, ...shown);
  const byCounty = state.gridMode === "county";
  const selected = byCounty ? $("county").value : "";
  const scope = $("scope").value;
  for (const c of state.geo.counties) {
    const pos = TILES[c.code];
    if (!pos) continue;
    const cell = values[c.code];
    const text = cell ? cell.display : "–";
    const cls = !cell ? "c0" : isHidden(cell) ? "cx" : bin(cell.value, max);
    const pressed = byCounty ? selected === c.code : scope === c.region;
    const b = el(
      "button",
      {
        type: "button",
        class: cls,
        "data-county": c.code,
        "data-region": c.region,
        "aria-pressed": pressed ? "true" : "false",
      },
      el("span", { text: c.name.replace(/ län$/, "") }),
      el("span", { class: "v", text }),
      byCounty ? null : el("span", { class: "sr-only", text: ` (region ${regionName(c.region)})` }),
    );
    b.style.gridColumn = String(pos[0] + 1);
    b.style.gridRow = String(pos[1] + 1);
    b.addEventListener("click", () => {
      const known = state.regions.some((r) => r.code === c.region);
      if (!byCounty) {
        $("scope").value = pressed || !known ? "national" : c.region;
        fillCounties();
      } else if ($("county").value === c.code) {
        $("county").value = "";
      } else {
        if (known) $("scope").value = c.region;
        fillCounties();
        $("county").value = c.code;
      }
      fillMunicipalities();
      load();
    });
    grid.append(b);
  }
  const legend = $("grid-legend");
  legend.replaceChildren();
  const steps = [
    ["c0", "0"],
    ["c1", "låg"],
    ["c3", "mellan"],
    ["c5", `hög (upp till ${max})`],
    ["cx", "dold (<5 eller ..)"],
  ];
  for (const [cls, label] of steps) legend.append(el("li", {}, el("span", { class: `sw ${cls}` }), label));
}

// The metric's figure per county: one question per county (to the region
// that holds it), four at a time; if the role may not ask by county, one
// question per region instead, its figure shown on each of its counties.
async function loadGrid(q) {
  const table = $("metric").value;
  if (!table) return;
  const values = {};
  const counties = state.geo.counties.filter((c) => TILES[c.code] && state.regions.some((r) => r.code === c.region));
  const one = async (scope, county) => {
    const res = await api(`/v1/statistics?${params({ ...q, scope, county, municipality: "" }, { tables: table })}`);
    const rep = await res.json();
    return headline(rep.tables.find((t) => t.id === table));
  };
  const pool = async (items, ask) => {
    const queue = [...items];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (queue.length) await ask(queue.shift());
      }),
    );
  };
  if (state.gridMode === "county") {
    // The first county alone: if the role may not ask by county, that is
    // the one refused question (then the page remembers it for the tab).
    let refused = false;
    const [first, ...rest] = counties;
    if (first) {
      try {
        values[first.code] = await one(first.region, first.code);
      } catch (e) {
        refused = e.status === 403;
        values[first.code] = null;
      }
    }
    if (!refused) {
      await pool(rest, async (c) => {
        try {
          values[c.code] = await one(c.region, c.code);
        } catch {
          values[c.code] = null;
        }
      });
    } else {
      setFilterMode("region");
      sessionStorage.setItem(MODE_KEY, "region");
    }
  }
  if (state.gridMode === "region") {
    const byRegion = {};
    await pool(state.regions, async (r) => {
      try {
        byRegion[r.code] = await one(r.code, "");
      } catch {
        byRegion[r.code] = null;
      }
    });
    for (const c of counties) values[c.code] = byRegion[c.region];
  }
  if (state.query === q) drawGrid(values);
}

// ------------------------------------------------------------ load

async function load() {
  const q = currentQuery();
  if (!q.from || !q.to) {
    showError("Ange både från- och till-datum.");
    return;
  }
  if (q.from > q.to) {
    showError("Från-datum måste vara före till-datum.");
    return;
  }
  showError("");
  state.query = q;
  const seq = ++state.loading;
  $("status").textContent = `Hämtar statistik för ${describe(q)} …`;
  document.body.setAttribute("aria-busy", "true");
  try {
    const res = await api(`/v1/statistics?${params(q)}`);
    const report = await res.json();
    if (seq !== state.loading) return;
    state.report = report;
    fillRegions(report.regions);
    fillCounties();
    renderPartial(report);
    renderTables(report, q);
    fillMetrics(report);
    drawGrid({});
    $("status").textContent = `Visar statistik för ${describe(q)}.`;
    document.body.dataset.loaded = `${q.scope}|${q.county}|${q.municipality}|${q.from}|${q.to}`;
    await loadGrid(q);
  } catch (e) {
    if (seq !== state.loading) return;
    if (e.status === 401) return logout(e.message);
    showError(e.message || "Statistiken kunde inte hämtas.");
    $("status").textContent = "";
  } finally {
    if (seq === state.loading) document.body.removeAttribute("aria-busy");
  }
}

function loggedIn() {
  setFilterMode(sessionStorage.getItem(MODE_KEY) === "region" ? "region" : "county");
  const c = claims(token());
  const role = ROLES[c.role] || c.role || "okänd roll";
  $("who").textContent = `Inloggad som ${role}${c.region ? ` (${c.region})` : ""}.`;
  $("login").hidden = true;
  $("app").hidden = false;
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(MODE_KEY);
  $("app").hidden = true;
  $("login").hidden = false;
  $("tables").replaceChildren();
  const err = $("login-error");
  err.textContent = message || "";
  err.hidden = !message;
  $("token").value = "";
  $("token").focus();
}

async function start() {
  try {
    const res = await fetch("/dashboard/assets/geo.json", { credentials: "omit" });
    state.geo = await res.json();
  } catch {
    state.geo = { regions: [], counties: [], municipalities: [] };
  }
  const [from, to] = period("current-year");
  $("from").value = from;
  $("to").value = to;
  fillCounties();

  $("login-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("token").value.trim();
    if (!t) {
      const err = $("login-error");
      err.textContent = "Ange din token.";
      err.hidden = false;
      $("token").setAttribute("aria-invalid", "true");
      $("token").focus();
      return;
    }
    $("token").removeAttribute("aria-invalid");
    $("login-error").hidden = true;
    sessionStorage.setItem(TOKEN_KEY, t);
    $("token").value = "";
    loggedIn();
    $("scope").focus();
    load();
  });
  $("logout").addEventListener("click", () => logout(""));
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    load();
  });
  $("scope").addEventListener("change", fillCounties);
  $("county").addEventListener("change", onCounty);
  for (const b of document.querySelectorAll("[data-period]")) {
    b.addEventListener("click", () => {
      const [f, t] = period(b.dataset.period);
      $("from").value = f;
      $("to").value = t;
      load();
    });
  }
  $("metric").addEventListener("change", () => {
    if (state.query) loadGrid(state.query);
  });

  if (token()) {
    loggedIn();
    load();
  }
}

start();
