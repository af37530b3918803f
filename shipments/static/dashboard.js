// Officials' dashboard charts: the county map (示意图) and pieces per month. Every
// chart element drills down to the shipments behind it.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var zh = data.zh;
  var pending = 2;
  function done() { pending -= 1; if (pending === 0) { window.dashboardReady = true; } }
  function drill(params) {
    var query = Object.keys(params).filter(function (k) { return params[k] !== null && params[k] !== ""; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    window.location.href = data.drill + "?" + query;
  }
  function monthEnd(iso) {
    var d = new Date(iso + "T00:00:00Z");
    var end = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    return end.toISOString().slice(0, 10);
  }

  var monthly = echarts.init(document.getElementById("monthly-chart"), null, { renderer: "canvas" });
  monthly.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { type: "scroll", top: 0 },
    grid: { left: 60, right: 20, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.months.map(function (m) { return m.slice(5, 7) + (zh ? "月" : ""); }) },
    yAxis: { type: "value", name: zh ? "件" : "pieces" },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "pieces", data: s.data, programId: s.program_id };
    })
  });
  monthly.on("click", function (event) {
    var month = data.months[event.dataIndex];
    drill({ program_id: data.series[event.seriesIndex].program_id, date_from: month, date_to: monthEnd(month), lang: data.lang });
  });
  done();

  var map = echarts.init(document.getElementById("county-map"), null, { renderer: "canvas" });
  fetch(data.geo).then(function (r) { return r.json(); }).then(function (geo) {
    echarts.registerMap("绍兴", geo);
    var byName = {};
    data.counties.forEach(function (c) { byName[c.name] = c; });
    map.setOption({
      animation: false,
      title: { text: zh ? "绍兴市（示意图）" : "Shaoxing (schematic)", left: "center", textStyle: { fontSize: 13 } },
      tooltip: {
        trigger: "item",
        formatter: function (p) {
          var c = byName[p.name];
          if (!c) { return p.name + (zh ? "：无项目" : ": no program"); }
          return c.label + "<br>" + (zh ? "完成 " : "done ") + c.pieces + " / " + c.prorated_target +
            " (" + (c.value === null ? "—" : c.value + "%") + ")";
        }
      },
      visualMap: {
        min: 0, max: 120, left: 10, bottom: 10, calculable: false,
        text: [zh ? "≥120%" : "≥120 %", "0%"],
        inRange: { color: ["#e03131", "#fab005", "#2f9e44"] }
      },
      series: [{
        type: "map", map: "绍兴", roam: false, label: { show: true, fontSize: 11 },
        data: data.counties.map(function (c) { return { name: c.name, value: c.value, code: c.code }; })
      }]
    });
    map.on("click", function (event) {
      var c = byName[event.name];
      if (c) { drill({ county: c.code, date_from: data.year + "-01-01", date_to: data.as_of, lang: data.lang }); }
    });
    done();
  });
})();
