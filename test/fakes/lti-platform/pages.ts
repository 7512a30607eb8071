/**
 * The HTML the LTI platform fake sends to browsers: auto-submitting forms (login initiation by
 * POST, the OIDC `form_post` answer), error pages, the course page that embeds a launch in an
 * iframe beside the platform storage frame, and that frame.
 *
 * The storage frame follows the LTI Client Side postMessages and postMessage Storage drafts
 * (https://www.imsglobal.org/spec/lti-cs-pm/v0p1, https://www.imsglobal.org/spec/lti-pm-s/v0p1) as
 * Canvas implements them (ui/shared/lti/jquery/subjects/lti.put_data.ts, lti.get_data.ts,
 * lti.capabilities.ts, platform_storage.ts, response_messages.ts): responses carry the request's
 * subject + `.response` and its `message_id`; `put_data` without a value clears the key; errors
 * are `{ code, message }` with codes `bad_request`, `unsupported_subject`, `wrong_origin`,
 * `storage_exhaustion`; data is partitioned by the sender's origin, at most 4096 characters and
 * 500 keys per origin. The page (the frame's parent) answers `lti.capabilities` with the frame's
 * name; the frame answers the storage messages.
 *
 * CHOSEN (stricter than Canvas, whose parent still answers put/get for `*` origins): the parent
 * answers `lti.put_data`/`lti.get_data` with `unsupported_subject`, so a tool must use the frame
 * named in `lti_storage_target` (or in the capabilities answer) and target the frame's origin;
 * and the frame answers `wrong_origin` to an origin that is not a registered tool's.
 */

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** A form that posts (or GETs) itself on load, as LMSs and OIDC form_post answers do. */
export function autoSubmitFormPage(options: {
  action: string;
  method: 'GET' | 'POST';
  fields: Record<string, string>;
  name: string;
  target?: string;
}): string {
  const inputs = Object.entries(options.fields)
    .map(
      ([key, value]) => `    <input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}"/>`,
    )
    .join('\n');
  const target = options.target ? ` target="${escapeHtml(options.target)}"` : '';
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Launching…</title></head>
<body>
  <form action="${escapeHtml(options.action)}" name="${escapeHtml(options.name)}" id="${escapeHtml(options.name)}" method="${options.method.toLowerCase()}" enctype="application/x-www-form-urlencoded"${target}>
${inputs}
    <noscript><button type="submit">Continue</button></noscript>
  </form>
  <script>document.getElementById(${JSON.stringify(options.name)}).submit();</script>
</body>
</html>
`;
}

/** The page a refused request gets: the reason is in `#error` and `#error-description`. */
export function errorPage(status: number, error: string, description: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Error ${status}</title></head>
<body>
  <h1>Request refused</h1>
  <p id="error">${escapeHtml(error)}</p>
  <p id="error-description">${escapeHtml(description)}</p>
</body>
</html>
`;
}

/** A plain page with a heading and a message (deep-linking outcome). */
export function messagePage(title: string, lines: string[]): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body>
  <h1>${escapeHtml(title)}</h1>
${lines.map((line) => `  <p>${escapeHtml(line)}</p>`).join('\n')}
</body>
</html>
`;
}

export interface CoursePageOptions {
  title: string;
  /** The login initiation: a URL to load in the tool frame (GET) or a form to post into it. */
  initiation:
    | { method: 'GET'; url: string }
    | { method: 'POST'; action: string; fields: Record<string, string> };
  storage?: { target: string; frameUrl: string };
}

/**
 * The LMS page that embeds a launch: the tool's iframe (`tool_content`), the platform storage
 * frame when the profile has one, and the parent's answer to `lti.capabilities`. The launch
 * starts once the storage frame has loaded, so the tool can use it from its first page.
 */
export function coursePage(options: CoursePageOptions): string {
  const storage = options.storage;
  const form =
    options.initiation.method === 'POST'
      ? `<form id="launch" action="${escapeHtml(options.initiation.action)}" method="post" target="tool_content" enctype="application/x-www-form-urlencoded">
${Object.entries(options.initiation.fields)
  .map(([key, value]) => `    <input type="hidden" name="${escapeHtml(key)}" value="${escapeHtml(value)}"/>`)
  .join('\n')}
  </form>`
      : '';
  const start =
    options.initiation.method === 'POST'
      ? `document.getElementById('launch').submit();`
      : `document.getElementById('tool_content').src = ${JSON.stringify(options.initiation.url)};`;
  const capabilities = storage
    ? `
    window.addEventListener('message', function (event) {
      var data = event.data;
      if (!data || typeof data !== 'object' || typeof data.subject !== 'string') return;
      if (data.subject.slice(-9) === '.response') return;
      var reply = { subject: data.subject + '.response' };
      if (data.message_id !== undefined) reply.message_id = data.message_id;
      if (data.subject === 'lti.capabilities') {
        reply.supported_messages = [
          { subject: 'lti.capabilities' },
          { subject: 'lti.put_data', frame: ${JSON.stringify(storage.target)} },
          { subject: 'lti.get_data', frame: ${JSON.stringify(storage.target)} }
        ];
      } else {
        reply.error = { code: 'unsupported_subject', message: 'send ' + data.subject + ' to the frame named ' + ${JSON.stringify(storage.target)} };
      }
      event.source.postMessage(reply, event.origin);
    });`
    : '';
  const storageFrame = storage
    ? `<iframe name="${escapeHtml(storage.target)}" id="${escapeHtml(storage.target)}" title="${escapeHtml(storage.target)}" src="${escapeHtml(storage.frameUrl)}" style="display:none"></iframe>`
    : '';
  const launchWhenReady = storage
    ? `document.getElementById(${JSON.stringify(storage.target)}).addEventListener('load', function () { ${start} });`
    : start;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(options.title)}</title></head>
<body>
  <h1>${escapeHtml(options.title)}</h1>
  <iframe name="tool_content" id="tool_content" title="Tool" width="900" height="500"></iframe>
  ${storageFrame}
  ${form}
  <script>${capabilities}
    ${launchWhenReady}
  </script>
</body>
</html>
`;
}

/**
 * The platform storage frame. `toolOrigins` are the origins allowed to use it; `eventsUrl` is
 * where the frame reports each message it answered (same origin), so tests can assert on them.
 */
export function storageFramePage(options: { toolOrigins: string[]; eventsUrl: string }): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>LTI platform storage</title></head>
<body>
  <script>
    var TOOL_ORIGINS = ${JSON.stringify(options.toolOrigins)};
    var CHAR_LIMIT = 4096;
    var KEY_LIMIT = 500;
    var memory = {};
    function storageKey(origin, key) { return 'lti|platform_storage|' + origin + '|' + key; }
    function read(origin, key) {
      try { return window.localStorage.getItem(storageKey(origin, key)); }
      catch (e) { return Object.prototype.hasOwnProperty.call(memory, storageKey(origin, key)) ? memory[storageKey(origin, key)] : null; }
    }
    function write(origin, key, value) {
      try { window.localStorage.setItem(storageKey(origin, key), value); }
      catch (e) { memory[storageKey(origin, key)] = value; }
    }
    function remove(origin, key) {
      try { window.localStorage.removeItem(storageKey(origin, key)); } catch (e) { delete memory[storageKey(origin, key)]; }
    }
    var usage = {};
    function report(entry) {
      try {
        fetch(${JSON.stringify(options.eventsUrl)}, {
          method: 'POST', keepalive: true,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(entry)
        });
      } catch (e) { /* reporting is best effort */ }
    }
    window.addEventListener('message', function (event) {
      var data = event.data;
      if (!data || typeof data !== 'object' || typeof data.subject !== 'string') return;
      if (data.subject.slice(-9) === '.response') return;
      var origin = event.origin;
      var response = { subject: data.subject + '.response' };
      if (data.message_id !== undefined) response.message_id = data.message_id;
      function fail(code, message) { response.error = { code: code, message: message }; }
      if (TOOL_ORIGINS.indexOf(origin) < 0) {
        fail('wrong_origin', 'origin ' + origin + ' is not a registered tool');
      } else if (data.subject === 'lti.capabilities') {
        response.supported_messages = [
          { subject: 'lti.capabilities' },
          { subject: 'lti.put_data', frame: window.name },
          { subject: 'lti.get_data', frame: window.name }
        ];
      } else if (data.subject === 'lti.put_data' || data.subject === 'lti.get_data') {
        if (!data.key || typeof data.key !== 'string') fail('bad_request', "Missing required 'key' field");
        else if (!data.message_id) fail('bad_request', "Missing required 'message_id' field");
        else if (data.subject === 'lti.get_data') {
          response.key = data.key;
          response.value = read(origin, data.key);
        } else if (data.value === undefined || data.value === null || data.value === '') {
          var old = read(origin, data.key);
          if (old !== null) {
            usage[origin] = usage[origin] || { keys: 0, chars: 0 };
            usage[origin].keys -= 1;
            usage[origin].chars -= data.key.length + old.length;
            remove(origin, data.key);
          }
          response.key = data.key;
        } else if (typeof data.value !== 'string') {
          fail('bad_request', "'value' must be a string");
        } else {
          var use = usage[origin] || (usage[origin] = { keys: 0, chars: 0 });
          if (use.keys >= KEY_LIMIT) fail('storage_exhaustion', 'Reached key limit for tool');
          else if (use.chars + data.key.length + data.value.length > CHAR_LIMIT) fail('storage_exhaustion', 'Reached byte limit for tool');
          else {
            use.keys += 1;
            use.chars += data.key.length + data.value.length;
            write(origin, data.key, data.value);
            response.key = data.key;
            response.value = data.value;
          }
        }
      } else {
        fail('unsupported_subject', 'unsupported subject ' + data.subject);
      }
      event.source.postMessage(response, origin);
      report({ subject: data.subject, origin: origin, key: data.key, value: data.value, messageId: data.message_id, error: response.error });
    });
  </script>
</body>
</html>
`;
}
