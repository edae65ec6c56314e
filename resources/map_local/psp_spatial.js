/* PSP Analyst Workstation: grid cells of the spatial analyses (Gi* hot spots, density, emerging hot spots).
 *
 * PSP.cellLayer(payload) builds one polygon per cell from the grid's lattice corners (projected once by the
 * application), drawn on a canvas in their class colour. Transparent classes (not significant) are still filled
 * with opacity 0, so a click on any study cell opens a popup with its figures (count, z, p, bin...).
 */
(function () {
  "use strict";
  var PSP = (window.PSP = window.PSP || {});

  var esc = PSP.esc;  // psp_map.js, loaded before this file

  PSP.cellPopupHtml = function (d, i) {
    var rows = (d.order || Object.keys(d.fields)).map(function (k) {
      return "<tr><th>" + esc(k) + "</th><td>" + esc(d.fields[k][i]) + "</td></tr>";
    });
    return "<b>" + esc(d.title || d.name || "") + "</b><table class='psp-popup'>" + rows.join("") + "</table>";
  };

  PSP.cellLayer = function (d) {
    var map = PSP.map;
    if (map && !map.getPane("pspCells")) {
      // above the district shading (pspBase, 350), under the records and the boundaries
      map.createPane("pspCells").style.zIndex = 360;
    }
    var renderer = L.canvas({ padding: 0.2, pane: "pspCells" });
    var group = L.featureGroup();
    var w = d.width, lon = d.lon, lat = d.lat;
    function corner(r, c) { var k = r * w + c; return [lat[k], lon[k]]; }
    for (var i = 0; i < d.rows.length; i++) {
      var r = d.rows[i], c = d.cols[i], colour = d.colours[d.cls[i]];
      var poly = L.polygon([corner(r, c), corner(r, c + 1), corner(r + 1, c + 1), corner(r + 1, c)], {
        renderer: renderer, pane: "pspCells", stroke: !!colour, color: "#ffffff", weight: 0.3, opacity: 0.6,
        fill: true, fillColor: colour || "#ffffff", fillOpacity: colour ? d.opacity : 0,
      });
      poly.cellIndex = i;
      group.addLayer(poly);
    }
    group.on("click", function (e) {
      var i = e.layer.cellIndex;
      var html = PSP.cellPopupHtml(d, i);
      PSP.lastCellPopup = { layer: d.name, index: i, html: html };
      L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(html).openOn(map || e.target._map);
    });
    PSP.cellLayers = PSP.cellLayers || {};
    PSP.cellLayers[d.name] = { layer: group, data: d };
    return group;
  };
})();
