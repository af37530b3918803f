// Officials' dashboard charts: the county map (示意图) and pieces per month. A month's bar
// drills down to the shipments behind it; a county opens its network view (townships, then
// stations). Rendered as SVG, with tooltips drawn inside the chart (renderMode "richText"):
// no inline style ever reaches the DOM, so the page's style policy (style-src 'self') holds.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var zh = data.zh;
  var words = data.words;
  var pending = 2;
  function done() { pending -= 1; if (pending === 0) { window.dashboardReady = true; } }
  function fmt(n) { return n === null || n === undefined ? "—" : Number(n).toLocaleString(zh ? "zh-CN" : "en"); }
  function go(path, params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== ""; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    window.location.href = path + "?" + query;
  }
  function drill(params) { go(data.drill, params); }
  function monthEnd(iso) {
    var d = new Date(iso + "T00:00:00Z");
    var end = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    return end.toISOString().slice(0, 10);
  }
  var tooltipBase = { renderMode: "richText", confine: true, backgroundColor: "#fff", borderColor: "#999",
                      textStyle: { color: "#222", fontSize: 12 } };

  var monthly = echarts.init(document.getElementById("monthly-chart"), null, { renderer: "svg" });
  monthly.setOption({
    animation: false,
    tooltip: Object.assign({}, tooltipBase, {
      trigger: "axis",
      formatter: function (items) {
        var lines = [items[0].axisValueLabel];
        items.forEach(function (p) { if (p.value) { lines.push(p.seriesName + words.sep + fmt(p.value) + " " + words.pieces); } });
        return lines.join("\n");
      }
    }),
    legend: { type: "scroll", top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.months.map(function (m) { return zh ? Number(m.slice(5, 7)) + "月" : m.slice(5, 7); }) },
    yAxis: { type: "value", name: words.pieces, axisLabel: { formatter: function (v) { return fmt(v); } } },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "pieces", data: s.data, programId: s.program_id };
    })
  });
  monthly.on("click", function (event) {
    var month = data.months[event.dataIndex];
    drill({ program_id: data.series[event.seriesIndex].program_id, date_from: month, date_to: monthEnd(month), lang: data.lang });
  });
  done();

  var mapBox = document.getElementById("county-map");
  var map = echarts.init(mapBox, null, { renderer: "svg" });
  fetch(data.geo).then(function (r) { return r.json(); }).then(function (geo) {
    echarts.registerMap("绍兴", geo);
    var byName = {};
    data.counties.forEach(function (c) { byName[c.name] = c; });
    // Counties without a program still open their network view.
    var codeByName = {};
    geo.features.forEach(function (f) { codeByName[f.properties.name] = { code: String(f.properties.adcode) }; });
    map.setOption({
      animation: false,
      title: { text: words.map_title, left: "center", textStyle: { fontSize: 13 } },
      tooltip: Object.assign({}, tooltipBase, {
        trigger: "item",
        formatter: function (p) {
          var c = byName[p.name];
          if (!c) { return p.name + words.sep + words.no_program; }
          return c.label + "\n" + words.done + " " + fmt(c.pieces) + " " + words.pieces + " / " + words.due + " " +
            fmt(c.prorated_target) + " " + words.pieces + "\n" + words.pace + " " + (c.value === null ? "—" : fmt(c.value) + "%");
        }
      }),
      // The legend sits in its own strip under the map: it never covers a county.
      visualMap: {
        min: 0, max: 120, orient: "horizontal", left: "center", bottom: 0, itemHeight: 120, itemWidth: 12,
        calculable: false, text: ["≥120%", "0%"], inRange: { color: ["#e03131", "#fab005", "#2f9e44"] }
      },
      series: [{
        type: "map", map: "绍兴", roam: false, top: 30, bottom: 48, left: 8, right: 8,
        // Dark text with a white halo reads on every fill colour.
        label: {
          show: true, fontSize: 11, color: "#111", textBorderColor: "#fff", textBorderWidth: 3,
          formatter: function (p) { var c = byName[p.name]; return c && c.value !== null ? p.name + "\n" + fmt(c.value) + "%" : p.name; }
        },
        labelLayout: { hideOverlap: true },
        emphasis: { label: { color: "#000" } },
        data: data.counties.map(function (c) { return { name: c.name, value: c.value, code: c.code }; })
      }]
    });
    // A county opens the network view for it (townships, then a township's stations), over the year to date.
    map.on("click", function (event) {
      var c = byName[event.name] || codeByName[event.name];
      if (c) { go(data.network, { county: c.code, date_from: data.year + "-01-01", date_to: data.as_of }); }
    });
    done();
  });
})();
