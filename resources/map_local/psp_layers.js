/* PSP Analyst Workstation: reference layers (streets, bus routes and stops, premises, census blocks) on a canvas.
 *
 * PSP.vectorLayer(payload, {paneZ}) draws one layer from the payload workstation/maps/layers.py writes: coordinates
 * are integers in a 2^28 Web Mercator world, so a screen position is one multiply and one subtract. Lines and
 * polygons carry two levels of detail: "low" (streets merged by name and simplified) below payload.detailZoom, and
 * "detail" (every segment) from it on, skipping parts whose bounding box is off screen. Each redraw's time is kept
 * in PSP.layerDrawMs[name] (the benchmark reads it). A click near a feature opens a popup with the layer and label.
 */
(function () {
  "use strict";
  var PSP = (window.PSP = window.PSP || {});
  var WORLD = 268435456; // 2^28
  PSP.layerDrawMs = PSP.layerDrawMs || {};
  PSP.vectorLayers = PSP.vectorLayers || {};

  var esc = PSP.esc;  // psp_map.js, loaded before this file

  // the canvas, its pane and the map's events: PSP.CanvasLayer in psp_map.js
  L.PspVector = PSP.CanvasLayer.extend({
    options: { paneZ: 385, clickTolerance: 6, canvasClass: "psp-layer" },

    initialize: function (data, options) {
      L.setOptions(this, options);
      // layers of one pane height share one pane (and so keep the order they were added in)
      L.setOptions(this, { canvasPane: "pspLayers" + this.options.paneZ, canvasZ: this.options.paneZ });
      this._d = data;
      PSP.vectorLayers[data.name] = this;
    },

    _view: function () {
      var map = this._map, size = map.getSize();
      var scale = (256 * Math.pow(2, map.getZoom())) / WORLD;
      var o = map.getPixelBounds().min;
      return { scale: scale, ox: o.x, oy: o.y, w: size.x, h: size.y, zoom: map.getZoom() };
    },

    _level: function (v) {
      var d = this._d;
      return v.zoom >= d.detailZoom || !d.low ? d.detail : d.low;
    },

    _redraw: function () {
      var map = this._map, canvas = this._canvas, d = this._d;
      if (!map || !canvas) return;
      var t0 = performance.now();
      var v = this._view(), ratio = window.devicePixelRatio || 1;
      L.DomUtil.setPosition(canvas, map.containerPointToLayerPoint([0, 0]));
      canvas.width = v.w * ratio; canvas.height = v.h * ratio;
      canvas.style.width = v.w + "px"; canvas.style.height = v.h + "px";
      var ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      // world units of the visible rectangle (with a margin for line widths and labels)
      var pad = 8 / v.scale;
      var x0 = v.ox / v.scale - pad, y0 = v.oy / v.scale - pad;
      var x1 = (v.ox + v.w) / v.scale + pad, y1 = (v.oy + v.h) / v.scale + pad;
      var drawn = 0;
      if (d.kind === "point") drawn = this._points(ctx, v, x0, y0, x1, y1);
      else drawn = this._paths(ctx, v, x0, y0, x1, y1);
      this._drawnParts = drawn;
      PSP.layerDrawMs[d.name] = performance.now() - t0;
    },

    _points: function (ctx, v, x0, y0, x1, y1) {
      var d = this._d, n = d.x.length, s = v.scale, ox = v.ox, oy = v.oy;
      var r = Math.max(1.5, d.width * 2 * Math.min(1, Math.pow(2, (v.zoom - 14) / 2)));
      ctx.fillStyle = d.colour;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1;
      var count = 0;
      ctx.beginPath();
      for (var i = 0; i < n; i++) {
        var wx = d.x[i], wy = d.y[i];
        if (wx < x0 || wx > x1 || wy < y0 || wy > y1) continue;
        var x = wx * s - ox, y = wy * s - oy;
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, 6.283185307179586);
        count++;
      }
      ctx.fill();
      if (r >= 2.5) ctx.stroke();
      if (d.labels && v.zoom >= 16) this._labelPoints(ctx, v, x0, y0, x1, y1, r);
      return count;
    },

    _labelPoints: function (ctx, v, x0, y0, x1, y1, r) {
      var d = this._d, s = v.scale, shown = 0;
      ctx.font = "11px sans-serif";
      ctx.textBaseline = "middle";
      for (var i = 0; i < d.x.length && shown < 400; i++) {
        var wx = d.x[i], wy = d.y[i], text = d.label[d.f[i]];
        if (!text || wx < x0 || wx > x1 || wy < y0 || wy > y1) continue;
        this._halo(ctx, text, wx * s - v.ox + r + 3, wy * s - v.oy);
        shown++;
      }
    },

    _halo: function (ctx, text, x, y) {
      ctx.lineWidth = 3;
      ctx.strokeStyle = "rgba(255,255,255,0.9)";
      ctx.strokeText(text, x, y);
      ctx.fillStyle = "#333";
      ctx.fillText(text, x, y);
    },

    _paths: function (ctx, v, x0, y0, x1, y1) {
      var d = this._d, p = this._level(v), s = v.scale, ox = v.ox, oy = v.oy;
      var off = p.off, X = p.x, Y = p.y, bb = p.bbox, count = 0;
      var polygon = d.kind === "polygon";
      // zoomed out, lines thin down (a city's streets would otherwise fill the screen)
      var w = d.width * (polygon ? 1 : Math.min(1, Math.max(0.35, Math.pow(2, (v.zoom - 14) / 2))));
      ctx.lineWidth = w;
      ctx.strokeStyle = d.colour;
      ctx.lineJoin = "round";
      ctx.globalAlpha = polygon ? 0.6 : 0.9;
      ctx.beginPath();
      for (var k = 0; k < p.n; k++) {
        var b = 4 * k;
        if (bb[b + 2] < x0 || bb[b] > x1 || bb[b + 3] < y0 || bb[b + 1] > y1) continue;
        var a = off[k], e = off[k + 1];
        ctx.moveTo(X[a] * s - ox, Y[a] * s - oy);
        for (var i = a + 1; i < e; i++) ctx.lineTo(X[i] * s - ox, Y[i] * s - oy);
        count++;
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
      if (d.labels && d.kind === "line" && v.zoom >= 15) this._labelLines(ctx, v, p, x0, y0, x1, y1);
      return count;
    },

    _labelLines: function (ctx, v, p, x0, y0, x1, y1) {
      // one label per name on screen, at the middle of its longest visible part, along the line
      var d = this._d, s = v.scale, best = {};
      for (var k = 0; k < p.n; k++) {
        var b = 4 * k, text = d.label[p.f[k]];
        if (!text || p.bbox[b + 2] < x0 || p.bbox[b] > x1 || p.bbox[b + 3] < y0 || p.bbox[b + 1] > y1) continue;
        var len = (p.bbox[b + 2] - p.bbox[b]) + (p.bbox[b + 3] - p.bbox[b + 1]);
        if (!best[text] || best[text].len < len) best[text] = { k: k, len: len };
      }
      ctx.font = "11px sans-serif";
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      var names = Object.keys(best);
      for (var j = 0; j < names.length && j < 300; j++) {
        var k2 = best[names[j]].k, a = p.off[k2], e = p.off[k2 + 1] - 1, m = Math.floor((a + e) / 2);
        var n2 = Math.min(m + 1, e), xa = p.x[m] * s - v.ox, ya = p.y[m] * s - v.oy;
        var xb = p.x[n2] * s - v.ox, yb = p.y[n2] * s - v.oy, ang = Math.atan2(yb - ya, xb - xa);
        if (ang > Math.PI / 2) ang -= Math.PI;
        if (ang < -Math.PI / 2) ang += Math.PI;
        ctx.save();
        ctx.translate((xa + xb) / 2, (ya + yb) / 2);
        ctx.rotate(ang);
        this._halo(ctx, names[j], 0, 0);
        ctx.restore();
      }
      ctx.textAlign = "start";
    },

    /* The feature under a click: the nearest point or line within the tolerance, or the polygon containing it. */
    nearest: function (cp) {
      var d = this._d, v = this._view(), s = v.scale, tol = this.options.clickTolerance, best = -1, bestD = tol * tol;
      var wx = (cp.x + v.ox) / s, wy = (cp.y + v.oy) / s;
      if (d.kind === "point") {
        for (var i = 0; i < d.x.length; i++) {
          var dx = (d.x[i] - wx) * s, dy = (d.y[i] - wy) * s, dd = dx * dx + dy * dy;
          if (dd <= bestD) { bestD = dd; best = d.f[i]; }
        }
        return best;
      }
      var p = this._level(v), pad = tol / s;
      for (var k = 0; k < p.n; k++) {
        var b = 4 * k;
        if (p.bbox[b] - pad > wx || p.bbox[b + 2] + pad < wx || p.bbox[b + 1] - pad > wy || p.bbox[b + 3] + pad < wy) {
          continue;
        }
        var a = p.off[k], e = p.off[k + 1], inside = false;
        for (var j = a; j < e - 1; j++) {
          var ax = p.x[j], ay = p.y[j], bx = p.x[j + 1], by = p.y[j + 1];
          var ex = bx - ax, ey = by - ay, L2 = ex * ex + ey * ey;
          var t = L2 ? Math.max(0, Math.min(1, ((wx - ax) * ex + (wy - ay) * ey) / L2)) : 0;
          var qx = (ax + t * ex - wx) * s, qy = (ay + t * ey - wy) * s, dq = qx * qx + qy * qy;
          if (dq <= bestD) { bestD = dq; best = p.f[k]; }
          if (d.kind === "polygon" && ((ay > wy) !== (by > wy)) && wx < ((bx - ax) * (wy - ay)) / (by - ay) + ax) {
            inside = !inside;
          }
        }
        if (inside && best < 0) best = p.f[k];
      }
      return best;
    },

    _onClick: function (e) {
      var i = this.nearest(e.containerPoint);
      if (i < 0) return;
      var d = this._d, label = d.label[i];
      var html = "<b>" + esc(d.name) + "</b>" + (label ? "<br>" + esc(label) : "");
      PSP.lastLayerPopup = { layer: d.name, index: i, html: html };
      L.popup({ maxWidth: 320 }).setLatLng(e.latlng).setContent(html).openOn(this._map);
    },
  });

  PSP.vectorLayer = function (data, options) { return new L.PspVector(data, options); };
})();
