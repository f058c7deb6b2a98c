// ReDoc under "Content-Security-Policy: default-src 'self'".
//
// ReDoc styles itself by writing rules into <style> elements, which the
// policy refuses (even empty ones). Rules added through the CSSOM are not
// subject to the policy, so a <style> element a script inserts stays out of
// the document and a constructed stylesheet, adopted by the document, takes
// its rules instead. Images the policy would refuse (ReDoc's logo from its
// CDN, icons inlined as data: URLs) are left out rather than requested.
(function () {
  "use strict";
  var native = Object.getOwnPropertyDescriptor(HTMLStyleElement.prototype, "sheet");
  var constructed = new WeakMap();
  var DATA_URL = /url\((["']?)data:[^)]*\1\)/g;

  function ownSheet(style) {
    if (!constructed.has(style)) {
      var sheet = new CSSStyleSheet();
      var insertRule = sheet.insertRule;
      sheet.insertRule = function (rule, index) {
        return insertRule.call(this, rule.replace(DATA_URL, "none"), index);
      };
      constructed.set(style, sheet);
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    }
    return constructed.get(style);
  }

  function syncText(style) {
    ownSheet(style).replaceSync(style.textContent.replace(DATA_URL, "none"));
  }

  Object.defineProperty(HTMLStyleElement.prototype, "sheet", {
    configurable: true,
    get: function () {
      return native.get.call(this) || ownSheet(this);
    },
  });

  var insertBefore = Node.prototype.insertBefore;
  var appendChild = Node.prototype.appendChild;
  Node.prototype.insertBefore = function (node, reference) {
    if (node instanceof HTMLStyleElement) {
      syncText(node);
      return node;
    }
    var added = insertBefore.call(this, node, reference);
    if (this instanceof HTMLStyleElement) {
      syncText(this);
    }
    return added;
  };
  Node.prototype.appendChild = function (node) {
    return this.insertBefore(node, null);
  };

  var setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (name, value) {
    if (this instanceof HTMLImageElement && name === "src" && !isOwn(value)) {
      return setAttribute.call(this, "hidden", "");
    }
    return setAttribute.call(this, name, value);
  };

  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    get: src.get,
    set: function (value) {
      if (isOwn(value)) {
        src.set.call(this, value);
      } else {
        this.hidden = true;
      }
    },
  });

  function isOwn(url) {
    return new URL(String(url), document.baseURI).origin === location.origin;
  }
})();
