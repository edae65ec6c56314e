/* PSP Analyst Workstation: the map page's own script (loaded after leaflet.js, served from psp://assets/).
 *
 * - PSP.CanvasLayer: the base of every layer drawn on a canvas of its own (the records here, the reference layers in
 *   psp_layers.js, which is loaded after this file): its pane, its canvas, redrawing on every move, and clicks.
 * - L.PspPoints: many records drawn on one canvas from compact integer arrays (no object per point); a click opens
 *   a popup with the nearest record's fields (embedded, or asked of the application over the QWebChannel bridge).
 * - PSP.heatLayer: leaflet.heat fed from the same arrays.
 * - PSP.editor: one editable boundary (leaflet.draw's vertex editing, a handle to move the whole shape, drawing a
 *   new shape), reporting every change to the application with at most one message in flight: while a message
 *   waits for its answer, newer shapes replace the unsent one, and the final shape of a drag is always sent.
 */
(function () {
  "use strict";
  var PSP = (window.PSP = window.PSP || {});

  /* Text from the records or a layer file, safe inside a popup's HTML (psp_spatial.js and psp_layers.js use it). */
  PSP.esc = function (s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };
  var esc = PSP.esc;

  function dayToIso(day) {
    var d = new Date(day * 86400000);
    return d.toISOString().slice(0, 10);
  }

  /* Decode a column: a plain array, or {values: [...], codes: [...]} (dictionary encoding). */
  function column(col, i) {
    if (col === null || col === undefined) return null;
    if (Array.isArray(col)) return col[i];
    var c = col.codes[i];
    return c < 0 ? null : col.values[c];
  }

  PSP.decodePoints = function (data) {
    if (data._decoded) return data._decoded;
    var n = data.lat.length, s = data.scale;
    var lat = new Float64Array(n), lon = new Float64Array(n), mx = new Float64Array(n), my = new Float64Array(n);
    for (var i = 0; i < n; i++) {
      var la = data.lat0 + data.lat[i] / s, lo = data.lon0 + data.lon[i] / s;
      lat[i] = la; lon[i] = lo;
      // Web Mercator in [0, 1]: the screen position at any zoom is a multiply and a subtract.
      var sin = Math.sin((la * Math.PI) / 180);
      mx[i] = (lo + 180) / 360;
      my[i] = 0.5 - Math.log((1 + sin) / (1 - sin)) / (4 * Math.PI);
    }
    data._decoded = { n: n, lat: lat, lon: lon, mx: mx, my: my };
    return data._decoded;
  };

  /* A layer drawn on one canvas that covers the map's container, in a pane of its own at canvasZ. The canvas takes
     no pointer events (the panes under it stay clickable): a subclass finds what a click hit in _onClick(e) and
     draws the whole view in _redraw(), called on add and after every move, zoom and resize. */
  PSP.CanvasLayer = L.Layer.extend({
    options: { canvasPane: "pspCanvas", canvasZ: 380, canvasClass: "psp-canvas" },

    onAdd: function (map) {
      this._map = map;
      var name = this.options.canvasPane;
      var pane = map.getPane(name) || map.createPane(name);
      pane.style.zIndex = this.options.canvasZ;
      pane.style.pointerEvents = "none";
      this._canvas = L.DomUtil.create("canvas", this.options.canvasClass + " leaflet-zoom-hide");
      this._canvas.style.pointerEvents = "none";
      pane.appendChild(this._canvas);
      map.on("moveend zoomend resize viewreset", this._redraw, this);
      map.on("click", this._onClick, this);
      this._redraw();
    },

    onRemove: function (map) {
      map.off("moveend zoomend resize viewreset", this._redraw, this);
      map.off("click", this._onClick, this);
      L.DomUtil.remove(this._canvas);
      this._canvas = null;
    },

    _redraw: function () {},
    _onClick: function () {},
  });

  L.PspPoints = PSP.CanvasLayer.extend({
    // above the district shading (pspBase, 350), below the boundaries (overlayPane, 400)
    options: { radius: 3, pane: "overlayPane", clickTolerance: 7, canvasPane: "pspPoints", canvasZ: 380,
               canvasClass: "psp-points" },

    initialize: function (data, options) {
      L.setOptions(this, options);
      this._data = data;
      this._pts = PSP.decodePoints(data);
    },

    _redraw: function () {
      var map = this._map, canvas = this._canvas;
      if (!map || !canvas) return;
      var t0 = performance.now();
      var size = map.getSize(), ratio = window.devicePixelRatio || 1;
      var topLeft = map.containerPointToLayerPoint([0, 0]);
      L.DomUtil.setPosition(canvas, topLeft);
      canvas.width = size.x * ratio; canvas.height = size.y * ratio;
      canvas.style.width = size.x + "px"; canvas.style.height = size.y + "px";
      var ctx = canvas.getContext("2d");
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      var world = 256 * Math.pow(2, map.getZoom());
      var origin = map.getPixelBounds().min;     // world pixel of the container's top-left corner
      var p = this._pts, cat = this._data.cat, colors = this._data.colors || ["#c0392b"];
      // zoomed out, dots shrink (and lose their outline) so that thousands of them do not carpet the city
      var r = this.options.radius * Math.min(1, Math.pow(2, (map.getZoom() - 13) / 2));
      var w = size.x, h = size.y;
      var n = p.n, last = -1;
      if (n > 20000) { this._drawPixels(ctx, world, origin, w, h, ratio); PSP.lastDrawMs = performance.now() - t0; return; }
      // few points: outlined dots that stand out on any fill
      var outlined = r >= 2.5;
      ctx.globalAlpha = outlined ? 1 : 0.85;
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1;
      for (var i = 0; i < n; i++) {
        var x = p.mx[i] * world - origin.x, y = p.my[i] * world - origin.y;
        if (x < -r || y < -r || x > w + r || y > h + r) continue;
        var c = cat ? cat[i] : 0;
        if (c !== last) { ctx.fillStyle = colors[c % colors.length]; last = c; }
        if (outlined) {
          ctx.beginPath(); ctx.arc(x, y, r + 1, 0, 6.283185307179586); ctx.fill(); ctx.stroke();
        } else {
          ctx.beginPath(); ctx.arc(x, y, r, 0, 6.283185307179586); ctx.fill();
        }
      }
      PSP.lastDrawMs = performance.now() - t0;
    },

    /* Many points: write the pixels of each dot straight into one ImageData (a canvas call per point would cost
       far more than the point itself). Later points overwrite earlier ones, as drawing would. */
    _drawPixels: function (ctx, world, origin, w, h, ratio) {
      var p = this._pts, cat = this._data.cat, colors = this._data.colors || ["#c0392b"];
      var W = Math.round(w * ratio), H = Math.round(h * ratio);
      var img = ctx.createImageData(W, H), buf = new Uint32Array(img.data.buffer);
      var rgba = colors.map(function (c) {
        var v = parseInt(c.slice(1), 16);     // little-endian ABGR words
        return ((0xff << 24) | ((v & 0xff) << 16) | (v & 0xff00) | ((v >> 16) & 0xff)) >>> 0;
      });
      var r = Math.max(1, Math.round(this.options.radius * ratio * 0.8));
      for (var i = 0; i < p.n; i++) {
        var x = Math.round((p.mx[i] * world - origin.x) * ratio), y = Math.round((p.my[i] * world - origin.y) * ratio);
        if (x < -r || y < -r || x >= W + r || y >= H + r) continue;
        var col = rgba[(cat ? cat[i] : 0) % rgba.length];
        var y0 = Math.max(0, y - r), y1 = Math.min(H - 1, y + r), x0 = Math.max(0, x - r), x1 = Math.min(W - 1, x + r);
        for (var yy = y0; yy <= y1; yy++) {
          var row = yy * W;
          for (var xx = x0; xx <= x1; xx++) buf[row + xx] = col;
        }
      }
      ctx.setTransform(1, 0, 0, 1, 0, 0);
      ctx.putImageData(img, 0, 0);
    },

    nearest: function (containerPoint) {
      var map = this._map, p = this._pts;
      var world = 256 * Math.pow(2, map.getZoom()), origin = map.getPixelBounds().min;
      var best = -1, bestD = this.options.clickTolerance * this.options.clickTolerance;
      for (var i = 0; i < p.n; i++) {
        var dx = p.mx[i] * world - origin.x - containerPoint.x, dy = p.my[i] * world - origin.y - containerPoint.y;
        var dd = dx * dx + dy * dy;
        if (dd <= bestD) { bestD = dd; best = i; }
      }
      return best;
    },

    popupHtml: function (i) {
      var d = this._data, rows = [];
      var title = d.label ? "<b>" + esc(d.label) + "</b><br>" : "";
      if (d.cats && d.cat) rows.push(["Category", d.cats[d.cat[i]]]);
      if (d.day) rows.push(["Date", dayToIso(d.day0 + d.day[i])]);
      var f = d.fields || {};
      (d.field_order || Object.keys(f)).forEach(function (k) {
        var v = column(f[k], i);
        if (v !== null && v !== undefined && v !== "") rows.push([k, v]);
      });
      return title + "<table class='psp-popup'>" + rows.map(function (r) {
        return "<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>";
      }).join("") + "</table>";
    },

    _onClick: function (e) {
      var i = this.nearest(e.containerPoint);
      if (i < 0) return;
      var latlng = L.latLng(this._pts.lat[i], this._pts.lon[i]);
      var html = this.popupHtml(i), popup = L.popup({ maxWidth: 360 }).setLatLng(latlng).setContent(html);
      popup.openOn(this._map);
      var d = this._data, id = column((d.fields || {})["Record"], i);
      if (PSP.bridge && PSP.bridge.recordDetails && d.dataset && id !== null) {
        PSP.bridge.recordDetails(d.dataset, String(id), function (json) {
          var rec = JSON.parse(json || "{}"), keys = Object.keys(rec);
          if (!keys.length) return;
          popup.setContent("<b>" + esc(d.label || "") + "</b><br><table class='psp-popup'>" + keys.map(function (k) {
            return "<tr><th>" + esc(k) + "</th><td>" + esc(rec[k]) + "</td></tr>";
          }).join("") + "</table>");
        });
      }
      PSP.lastPopup = { index: i, html: html };
    },
  });

  L.pspPoints = function (data, options) { return new L.PspPoints(data, options); };

  PSP.heatLayer = function (data, options) {
    var p = PSP.decodePoints(data), pts = new Array(p.n);
    for (var i = 0; i < p.n; i++) pts[i] = [p.lat[i], p.lon[i]];
    var layer = L.heatLayer(pts, options || {});
    var onAdd = layer.onAdd;
    layer.onAdd = function (map) {
      onAdd.call(this, map);
      // leaflet.heat draws in the overlay pane; give it its own, over the shading and under the boundaries
      var pane = map.getPane("pspHeat") || map.createPane("pspHeat");
      pane.style.zIndex = 390;
      pane.style.pointerEvents = "none";
      pane.appendChild(this._canvas);
    };
    return layer;
  };

  /* ---------------------------------------------------------------------------------------------------------------
   * The boundary editor. Shapes travel as JSON: [[ring, hole...], ...] with rings of [lon, lat] (GeoJSON order).
   */
  function toLatLngs(shape) {
    return shape.map(function (part) {
      return part.map(function (ring) {
        return ring.map(function (p) { return L.latLng(p[1], p[0]); });
      });
    });
  }

  function fromLatLngs(latlngs) {
    // L.Polygon latlngs: [ring, hole...] for one polygon or [[ring, hole...], ...] for several; clone the values
    // (leaflet.draw moves the same LatLng objects during a drag).
    var parts = L.LineUtil.isFlat(latlngs) ? [[latlngs]] : (L.LineUtil.isFlat(latlngs[0]) ? [latlngs] : latlngs);
    return parts.map(function (part) {
      return part.map(function (ring) {
        return ring.map(function (ll) { return [ll.lng, ll.lat]; });
      });
    });
  }

  var ed = (PSP.editor = {
    map: null, layer: null, handle: null, inFlight: false, pending: null, sent: 0, answered: 0,
    style: { color: "#d35400", weight: 3, fillOpacity: 0.08 },
  });

  ed.attach = function (map) {
    ed.map = map;
    // the edited boundary stays above the points and the heat map
    var pane = map.getPane("pspEdit") || map.createPane("pspEdit");
    pane.style.zIndex = 460;
    ed.style.pane = "pspEdit";
    map.on("draw:created", function (e) {
      if (!(e.layer instanceof L.Polygon)) return;
      ed.setShape(fromLatLngs(e.layer.getLatLngs()), true);
      ed.queue("created", true);
    });
  };

  ed.setShape = function (shape, editable) {
    var map = ed.map;
    if (ed.layer) { ed.stopEditing(); map.removeLayer(ed.layer); ed.layer = null; }
    if (ed.handle) { map.removeLayer(ed.handle); ed.handle = null; }
    if (!shape || !shape.length) return;
    var ll = toLatLngs(shape);
    ed.layer = L.polygon(ll.length === 1 ? ll[0] : ll, ed.style).addTo(map);
    // leaflet.draw's vertex editing reads these two styles (its edit toolbar would set them; we edit without it)
    ed.layer.options.original = L.extend({}, ed.style);
    ed.layer.options.editing = L.extend({}, ed.style, { fillOpacity: 0.12 });
    ed.layer.on("editstart", function () { ed.queue("start", false); });
    ed.layer.on("editdrag", function () { ed.queue("drag", false); });
    ed.layer.on("edit", function () { ed.queue("edit", true); ed.placeHandle(); });
    if (editable) ed.startEditing();
  };

  ed.startEditing = function () {
    if (!ed.layer || !ed.layer.editing) return;
    ed.layer.editing.enable();
    ed.placeHandle();
  };

  ed.stopEditing = function () {
    if (ed.layer && ed.layer.editing && ed.layer.editing.enabled()) ed.layer.editing.disable();
    if (ed.handle) { ed.map.removeLayer(ed.handle); ed.handle = null; }
  };

  /* Replace the shape without firing anything (undo/redo from the application). */
  ed.replaceShape = function (shape) {
    if (!ed.layer) { ed.setShape(shape, true); return; }
    var editing = ed.layer.editing && ed.layer.editing.enabled();
    if (editing) ed.layer.editing.disable();
    var ll = toLatLngs(shape);
    ed.layer.setLatLngs(ll.length === 1 ? ll[0] : ll);
    ed.layer.fire("revert-edited", { layer: ed.layer });
    if (editing) ed.layer.editing.enable();
    ed.placeHandle();
  };

  ed.getShape = function () { return ed.layer ? fromLatLngs(ed.layer.getLatLngs()) : []; };

  /* A handle at the shape's centre that moves the whole shape. */
  ed.placeHandle = function () {
    if (!ed.layer || !(ed.layer.editing && ed.layer.editing.enabled())) return;
    var c = ed.layer.getBounds().getCenter();
    if (ed.handle) { ed.handle.setLatLng(c); return; }
    ed.handle = L.marker(c, {
      draggable: true, title: "Drag to move the whole shape",
      icon: L.divIcon({ className: "psp-move-handle", html: "&#x2725;", iconSize: [22, 22] }),
    }).addTo(ed.map);
    var start = null, base = null;
    ed.handle.on("dragstart", function () {
      start = ed.handle.getLatLng(); base = ed.getShape();
      ed.layer.editing.disable();
      ed.queue("start", false);
    });
    ed.handle.on("drag", function () {
      var now = ed.handle.getLatLng(), dlat = now.lat - start.lat, dlng = now.lng - start.lng;
      var moved = base.map(function (part) {
        return part.map(function (ring) { return ring.map(function (p) { return [p[0] + dlng, p[1] + dlat]; }); });
      });
      var ll = toLatLngs(moved);
      ed.layer.setLatLngs(ll.length === 1 ? ll[0] : ll);
      ed.queue("drag", false);
    });
    ed.handle.on("dragend", function () {
      ed.layer.fire("revert-edited", { layer: ed.layer });
      ed.layer.editing.enable();
      ed.queue("edit", true);
      ed.placeHandle();
    });
  };

  /* Coalesced sending: one message in flight; an unsent drag shape is replaced by the newest; a final one is kept. */
  ed.queue = function (kind, final) {
    var msg = { kind: kind, final: !!final, shape: ed.getShape() };
    if (ed.pending && ed.pending.final && !final) {
      // never let a drag update overwrite a final shape that has not gone out yet
      ed.pendingAfter = msg;
      return;
    }
    ed.pending = msg;
    ed.flush();
  };

  ed.flush = function () {
    if (ed.inFlight || !ed.pending) return;
    var msg = ed.pending;
    ed.pending = ed.pendingAfter || null;
    ed.pendingAfter = null;
    if (!PSP.bridge || !PSP.bridge.shapeChanged) { if (PSP.onShape) PSP.onShape(msg); return; }
    ed.inFlight = true;
    ed.sent += 1;
    PSP.bridge.shapeChanged(JSON.stringify(msg), function (answer) {
      ed.inFlight = false;
      ed.answered += 1;
      ed.lastAnswer = answer;
      if (answer) {
        var a = JSON.parse(answer);
        if (a.refused && a.shape) ed.replaceShape(a.shape);  // a self-crossing shape: back to the last valid one
      }
      ed.flush();
    });
  };

  ed.enableDrawing = function () {
    if (!L.Control.Draw) return;
    if (ed.drawControl) return;
    ed.drawControl = new L.Control.Draw({
      position: "topleft",
      draw: {
        polygon: { allowIntersection: false, showArea: true, shapeOptions: ed.style },
        polyline: false, rectangle: false, circle: false, marker: false, circlemarker: false,
      },
    });
    ed.map.addControl(ed.drawControl);
  };

  /* Fit the view to the page's focus (the selected area, the compared outlines, the city), keeping it clear of the
     legend in the bottom-right corner: beside it or above it, whichever leaves the shapes larger. */
  PSP.fit = function () {
    var map = PSP.map;
    if (!map || !PSP.fitBounds) return;
    var size = map.getSize();
    if (!size.x || !size.y) return;                       // a hidden view: fitted when it is shown (resize)
    var bounds = L.latLngBounds(PSP.fitBounds), pad = 12;
    var choices = [{ tl: [pad, pad], br: [pad, pad] }];
    var legend = map.getContainer().querySelector(".psp-legend");
    if (legend && legend.offsetWidth) {
      var w = legend.offsetWidth + 10 + pad, h = legend.offsetHeight + 10 + pad;
      choices = [{ tl: [pad, pad], br: [w, pad] }, { tl: [pad, pad], br: [pad, h] }];
    }
    var best = { tl: [pad, pad], br: [pad, pad] }, bestZoom = -Infinity;
    choices.forEach(function (c) {
      var room = L.point(size.x, size.y).subtract(L.point(c.tl).add(L.point(c.br)));
      if (room.x < 80 || room.y < 80) return;       // a tall legend leaves no room above it: not a choice
      var z = map.getBoundsZoom(bounds, false, L.point(c.tl).add(L.point(c.br)));
      if (z > bestZoom) { bestZoom = z; best = c; }
    });
    PSP.fitting = true;
    try { map.fitBounds(bounds, { paddingTopLeft: best.tl, paddingBottomRight: best.br }); }
    finally { PSP.fitting = false; }
  };

  /* Connect to the application when the page runs inside it (qwebchannel.js is loaded only there). */
  PSP.connect = function (map, fit) {
    PSP.map = map;
    PSP.fitBounds = fit || null;
    ed.attach(map);
    // after the first layout (the legend exists and has its size): fit the view, then follow resizes until the
    // analyst moves the map; two animation frames later the page has painted (exports wait for this)
    requestAnimationFrame(function () {
      PSP.fit();
      map.on("movestart zoomstart", function () { if (!PSP.fitting) PSP.userMoved = true; });
      map.on("resize", function () { if (!PSP.userMoved) PSP.fit(); });
      requestAnimationFrame(function () { requestAnimationFrame(function () { PSP.painted = true; }); });
    });
    if (typeof QWebChannel === "undefined" || typeof qt === "undefined") { PSP.ready = true; return; }
    new QWebChannel(qt.webChannelTransport, function (channel) {
      PSP.bridge = channel.objects.bridge;
      PSP.ready = true;
      if (PSP.bridge && PSP.bridge.pageReady) PSP.bridge.pageReady();
    });
  };
})();
