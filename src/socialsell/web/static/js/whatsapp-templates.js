// WhatsApp templates: the create form's live preview (variables highlighted, filled with their
// samples), sample fields added and removed as variables are typed, button rows by type, and
// the delete dialogs for browsers without invoker commands. Also the template picker's preview
// in the inbox composer ([data-picker]), which loads this file with its fragment.
// No inline handlers: the CSP forbids them.
(function () {
  "use strict";

  var VARIABLE = /\{\{\s*([^{}]*?)\s*\}\}/g;

  function variables(text) {
    var seen = [];
    var match;
    VARIABLE.lastIndex = 0;
    while ((match = VARIABLE.exec(text)) !== null) {
      if (seen.indexOf(match[1]) < 0) {
        seen.push(match[1]);
      }
    }
    return seen;
  }

  // Fill `target` with `text`, each {{variable}} as a <mark> holding its value when there is one.
  function renderText(target, text, values) {
    target.textContent = "";
    var last = 0;
    var match;
    VARIABLE.lastIndex = 0;
    while ((match = VARIABLE.exec(text)) !== null) {
      if (match.index > last) {
        target.appendChild(document.createTextNode(text.slice(last, match.index)));
      }
      var mark = document.createElement("mark");
      mark.className = "wa-var";
      var value = values && values[match[1]];
      mark.textContent = value ? value : match[0];
      target.appendChild(mark);
      last = match.index + match[0].length;
    }
    if (last < text.length) {
      target.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  // --- dialogs (delete confirmation) ------------------------------------------------------------

  if (!("command" in HTMLButtonElement.prototype)) {
    document.addEventListener("click", function (event) {
      var opener = event.target.closest("[data-dialog-open]");
      if (opener) {
        var dialog = document.getElementById(opener.getAttribute("data-dialog-open"));
        if (dialog && typeof dialog.showModal === "function") {
          dialog.showModal();
        }
        return;
      }
      var closer = event.target.closest("[data-dialog-close]");
      if (closer && closer.closest("dialog")) {
        closer.closest("dialog").close();
      }
    });
  }

  document.addEventListener("click", function (event) {
    var open = event.target.closest("[data-open-create]");
    if (open) {
      var details = document.getElementById("new-template");
      if (details) {
        details.open = true;
        var first = details.querySelector("input:not([type=hidden]), select, textarea");
        if (first) {
          window.setTimeout(function () {
            first.focus();
          }, 0);
        }
      }
    }
  });

  // --- the create form ----------------------------------------------------------------------------

  var form = document.querySelector("[data-template-form]");
  if (form) {
    var sampleTemplate = document.getElementById("sample-template");

    var field = function (name) {
      return form.elements.namedItem(name);
    };

    // One sample input per variable of `text`, named prefix.0 ({{1}}) or prefix.<name>.
    var syncSamples = function (prefix, text) {
      var box = form.querySelector('[data-samples="' + prefix + '"]');
      if (!box || !sampleTemplate) {
        return {};
      }
      var wanted = variables(text).map(function (v) {
        return { variable: v, name: prefix + "." + (/^\d+$/.test(v) ? String(Number(v) - 1) : v) };
      });
      var existing = {};
      Array.prototype.forEach.call(box.querySelectorAll("input"), function (input) {
        existing[input.name] = input.closest(".field");
      });
      var values = {};
      wanted.forEach(function (item) {
        var wrapper = existing[item.name];
        if (!wrapper) {
          wrapper = sampleTemplate.content.firstElementChild.cloneNode(true);
          var input = wrapper.querySelector("input");
          input.name = item.name;
          input.id = "f-" + item.name;
          var label = wrapper.querySelector("label");
          label.htmlFor = input.id;
          label.textContent = (box.getAttribute("data-label") || "{var}").replace(
            "{var}",
            "{{" + item.variable + "}}"
          );
        }
        box.appendChild(wrapper); // keeps the variables' order
        delete existing[item.name];
        values[item.variable] = wrapper.querySelector("input").value;
      });
      Object.keys(existing).forEach(function (name) {
        existing[name].remove();
      });
      return values;
    };

    var preview = {
      header: form.parentNode.querySelector("[data-preview-header]"),
      body: form.parentNode.querySelector("[data-preview-body]"),
      footer: form.parentNode.querySelector("[data-preview-footer]"),
      buttons: form.parentNode.querySelector("[data-preview-buttons]"),
    };

    var buttonRows = function () {
      return Array.prototype.slice.call(form.querySelectorAll("[data-button-row]"));
    };

    var update = function () {
      var category = field("category") ? field("category").value : "";
      var auth = category === "AUTHENTICATION";
      Array.prototype.forEach.call(form.querySelectorAll("[data-not-auth]"), function (el) {
        el.hidden = auth;
      });
      Array.prototype.forEach.call(form.querySelectorAll("[data-auth-only]"), function (el) {
        el.hidden = !auth;
      });
      var headerFormat = field("header_format") ? field("header_format").value : "NONE";
      Array.prototype.forEach.call(form.querySelectorAll("[data-for-header]"), function (el) {
        el.hidden = el.getAttribute("data-for-header").split(" ").indexOf(headerFormat) < 0;
      });
      // The sample file input takes the kinds Meta accepts for this header.
      var sampleInput = form.querySelector("[data-header-sample]");
      if (sampleInput) {
        sampleInput.accept = sampleInput.getAttribute("data-accept-" + headerFormat.toLowerCase()) || "";
      }
      var headerText = !auth && headerFormat === "TEXT" ? field("header_text").value : "";
      var headerValues = syncSamples("header_example", headerText);
      var body = auth ? "" : field("body").value;
      var bodyValues = syncSamples("body_examples", body);

      if (preview.body) {
        if (auth) {
          preview.body.textContent = "123456 is your verification code.";
        } else if (body.trim()) {
          renderText(preview.body, body, bodyValues);
        }
        renderText(preview.header, headerText, headerValues);
        var mediaLabel = form.querySelector("[data-header-kind-" + headerFormat.toLowerCase() + "]");
        if (!auth && mediaLabel) {
          preview.header.textContent = "[" + mediaLabel.getAttribute("data-header-kind-" + headerFormat.toLowerCase()) + "]";
        }
        preview.footer.textContent = auth ? "" : field("footer").value;
        preview.buttons.textContent = "";
      }
      buttonRows().forEach(function (row) {
        var type = row.querySelector("[data-button-type]").value;
        Array.prototype.forEach.call(row.querySelectorAll("[data-for-type]"), function (el) {
          el.hidden = el.getAttribute("data-for-type") !== type;
        });
        var label = row.querySelector('input[name$=".text"]');
        if (preview.buttons && type && !auth) {
          var item = document.createElement("li");
          item.textContent = label.value || "…";
          preview.buttons.appendChild(item);
        }
      });
      if (preview.buttons && auth) {
        var copy = document.createElement("li");
        copy.textContent = "Copy code";
        preview.buttons.appendChild(copy);
      }
    };

    // "Add a button": a copy of the last row with the next index, up to Meta's maximum.
    var box = form.querySelector("[data-buttons]");
    var add = form.querySelector("[data-add-button]");
    if (box && add) {
      var max = Number(box.getAttribute("data-max")) || 10;
      var refresh = function () {
        add.hidden = buttonRows().length >= max;
      };
      add.addEventListener("click", function () {
        var rows = buttonRows();
        var last = rows[rows.length - 1];
        var index = rows.length;
        var copy = last.cloneNode(true);
        Array.prototype.forEach.call(copy.querySelectorAll("[name], [id], [for], legend, label"), function (el) {
          ["name", "id", "for"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) {
              el.setAttribute(attr, value.replace(/buttons\.\d+\./, "buttons." + index + "."));
            }
          });
          if (el.matches("input")) {
            el.value = "";
            el.removeAttribute("aria-invalid");
          }
          if (el.matches("select")) {
            el.selectedIndex = 0;
          }
        });
        Array.prototype.forEach.call(copy.querySelectorAll(".field__error"), function (el) {
          el.remove();
        });
        var legendText = copy.querySelector("legend");
        if (legendText) {
          legendText.textContent = legendText.textContent.replace(/\d+/, String(index + 1));
        }
        var typeLabel = copy.querySelector("label[for$='.type']");
        if (typeLabel) {
          typeLabel.textContent = typeLabel.textContent.replace(/\d+/, String(index + 1));
        }
        last.after(copy);
        refresh();
        update();
        copy.querySelector("select").focus();
      });
      refresh();
    }

    form.addEventListener("input", update);
    form.addEventListener("change", update);
    update();
  }

  // --- the template picker (inbox composer) -------------------------------------------------------

  var updatePicker = function (picker) {
    var data = picker.querySelector("script[type='application/json'][data-picker-template]");
    var target = picker.querySelector("[data-picker-preview]");
    if (!data || !target) {
      return;
    }
    var tpl = JSON.parse(data.textContent);
    var values = function (prefix, names) {
      var out = {};
      names.forEach(function (name, index) {
        var input =
          picker.querySelector('[name="' + prefix + "." + name + '"]') ||
          picker.querySelector('[name="' + prefix + "." + index + '"]');
        out[name] = input ? input.value : "";
      });
      return out;
    };
    var header = target.querySelector("[data-preview-header]");
    var body = target.querySelector("[data-preview-body]");
    var footer = target.querySelector("[data-preview-footer]");
    if (header) {
      if (tpl.header_format === "TEXT") {
        renderText(header, tpl.header_text, values("header_text", tpl.header_variables));
      } else if (tpl.header_format) {
        var media = picker.querySelector("[name='header_media_id']:checked");
        header.textContent = media ? media.getAttribute("data-label") || "[" + tpl.header_format + "]" : "[" + tpl.header_format.toLowerCase() + "]";
      }
    }
    if (body) {
      renderText(body, tpl.body, values("body", tpl.body_variables));
    }
    if (footer) {
      footer.textContent = tpl.footer || "";
    }
  };

  var pickers = function (root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("[data-picker]"), function (picker) {
      if (picker.getAttribute("data-picker-ready")) {
        return;
      }
      picker.setAttribute("data-picker-ready", "1");
      picker.addEventListener("input", function () {
        updatePicker(picker);
      });
      picker.addEventListener("change", function () {
        updatePicker(picker);
      });
      updatePicker(picker);
    });
  };
  pickers(document);
  document.addEventListener("htmx:afterSwap", function (event) {
    pickers(event.target && event.target.querySelectorAll ? event.target : document);
    if (event.target && event.target.matches && event.target.matches("[data-picker]")) {
      pickers(event.target.parentNode);
    }
  });
})();
