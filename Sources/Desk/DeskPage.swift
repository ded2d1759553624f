// The clerk's page, served at / by `cccd serve`: static (no card data in it); everything it shows comes from the API
// with the bearer token the page keeps in the browser. Scripts and styles are separate files so that the page's
// Content-Security-Policy allows no inline code.
enum DeskPage {
    static let html = #"""
        <!doctype html>
        <html lang="vi">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Đọc thẻ CCCD · Card desk</title>
        <link rel="stylesheet" href="/app.css">
        <script src="/app.js" defer></script>
        </head>
        <body>
        <header>
          <h1>Đọc thẻ căn cước <span class="en">Card desk</span></h1>
          <p id="status" role="status" aria-live="polite">Đang khởi động… <span class="en">Starting…</span></p>
        </header>
        <main>
          <section id="token-section" hidden aria-labelledby="token-title">
            <h2 id="token-title">Mã truy cập <span class="en">Access token</span></h2>
            <form id="token-form">
              <label for="token-input">Dán mã từ tệp token <span class="en">Paste the token from the token file</span></label>
              <input id="token-input" type="password" autocomplete="off" required>
              <button type="submit">Lưu <span class="en">Save</span></button>
            </form>
          </section>
          <section id="error" role="alert" hidden aria-labelledby="error-title">
            <h2 id="error-title">Không đọc được thẻ <span class="en">The card was not read</span></h2>
            <p id="error-text" class="error-text"></p>
            <p id="error-detail" class="en"></p>
          </section>
          <section id="card" aria-labelledby="verdict" hidden>
            <p id="verdict" class="verdict" data-tone=""></p>
            <ul id="reasons" aria-label="Lý do (Reasons)"></ul>
            <div class="card-body">
              <img id="portrait" alt="Ảnh chân dung (Portrait)" hidden>
              <dl>
                <dt>Họ và tên <span class="en">Full name</span></dt><dd id="holder-name"></dd>
                <dt>Số định danh <span class="en">ID number</span></dt><dd id="holder-id"></dd>
                <dt>Số CMND cũ <span class="en">Old ID number</span></dt><dd id="holder-old-id"></dd>
                <dt>Ngày sinh <span class="en">Date of birth</span></dt><dd id="holder-dob"></dd>
                <dt>Giới tính <span class="en">Sex</span></dt><dd id="holder-sex"></dd>
                <dt>Quê quán <span class="en">Place of origin</span></dt><dd id="holder-origin"></dd>
                <dt>Nơi thường trú <span class="en">Address</span></dt><dd id="holder-address"></dd>
                <dt>Ngày cấp <span class="en">Date of issue</span></dt><dd id="holder-issue"></dd>
                <dt>Có giá trị đến <span class="en">Expiry</span></dt><dd id="holder-expiry"></dd>
              </dl>
            </div>
            <ul id="badges" aria-label="Kiểm tra (Checks)"></ul>
            <p id="read-info" class="hint"></p>
          </section>
          <section aria-labelledby="key-title">
            <h2 id="key-title">Khóa thẻ <span class="en">Card key</span></h2>
            <form id="read-form">
              <label for="key-input">CAN (6 số), số CCCD (12 số), quét mã QR, hoặc MRZ
                <span class="en">CAN (6 digits), ID number (12 digits), scan the QR code, or the MRZ</span></label>
              <input id="key-input" autocomplete="off" autofocus spellcheck="false" required
                aria-describedby="key-hint">
              <p id="key-hint" class="hint">Nhấn Enter để đọc; thẻ được đọc ngay khi đặt lên đầu đọc.
                <span class="en">Press Enter to read; the card is read as soon as it is on the reader.</span></p>
              <label for="reader-select">Đầu đọc <span class="en">Reader</span></label>
              <select id="reader-select"><option value="">Bất kỳ (any)</option></select>
              <button type="submit" id="read-button">Đọc thẻ <span class="en">Read card</span></button>
              <div class="row">
                <button type="button" id="cancel-button" class="secondary" hidden>Hủy <span class="en">Cancel</span></button>
                <button type="button" id="clear-button" class="secondary">Xóa màn hình <span class="en">Clear</span></button>
              </div>
              <label class="setting"><input type="checkbox" id="english"> Hiện tiếng Anh <span class="en">Show English</span></label>
            </form>
          </section>
          <section aria-labelledby="readers-title">
            <h2 id="readers-title">Đầu đọc <span class="en">Readers</span></h2>
            <ul id="readers"></ul>
          </section>
        </main>
        </body>
        </html>
        """#

    static let style = #"""
        body { font-family: "DejaVu Sans", system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1b1f24; }
        header { background: #0b3d6e; color: #fff; padding: 0.8rem 1.2rem; }
        header h1 { margin: 0; font-size: 1.4rem; }
        .en { color: #5b6573; font-weight: normal; font-size: 0.85em; }
        header .en { color: #c9d6e6; }
        #status { margin: 0.3rem 0 0; }
        main { display: grid; gap: 1rem; padding: 1rem 1.2rem; grid-template-columns: minmax(18rem, 26rem) 1fr; }
        section { background: #fff; border-radius: 6px; padding: 0.8rem 1rem; box-shadow: 0 1px 2px #0002; }
        #card, #error { grid-column: 2; grid-row: 1 / span 3; }
        h2 { font-size: 1.1rem; margin: 0 0 0.6rem; }
        label { display: block; margin: 0.5rem 0 0.2rem; font-weight: bold; }
        input, select, button { font-size: 1rem; padding: 0.45rem; width: 100%; box-sizing: border-box; }
        button { margin-top: 0.7rem; background: #0b3d6e; color: #fff; border: 0; border-radius: 4px; cursor: pointer; }
        button .en { color: #c9d6e6; }
        :focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
        .hint { font-size: 0.85rem; color: #444; }
        #readers { list-style: none; padding: 0; margin: 0; }
        #readers li { padding: 0.3rem 0; border-bottom: 1px solid #eee; }
        .state { font-weight: bold; }
        .card-body { display: flex; gap: 1.2rem; align-items: flex-start; }
        #portrait { width: 180px; border: 1px solid #ccc; border-radius: 4px; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
        dt { font-weight: bold; }
        dd { margin: 0; font-size: 1.1rem; }
        #badges { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 1rem 0 0.5rem; }
        .badge { padding: 0.35rem 0.7rem; border-radius: 999px; font-weight: bold; border: 2px solid; }
        .badge[data-status="passed"] { background: #e3f6e8; color: #0b6b2c; border-color: #0b6b2c; }
        .badge[data-status="failed"] { background: #fde7e7; color: #a11212; border-color: #a11212; }
        .badge[data-status="notChecked"] { background: #eef0f3; color: #4a4f57; border-color: #8a9099; border-style: dashed; }
        body:not(.show-en) .en { display: none; }
        .verdict { font-size: 1.8rem; font-weight: bold; margin: 0 0 0.4rem; padding: 0.5rem 0.8rem; border-radius: 6px; }
        .verdict[data-tone="ok"] { background: #e3f6e8; color: #0b6b2c; }
        .verdict[data-tone="warn"] { background: #fff4d6; color: #7a4b00; }
        .verdict[data-tone="bad"] { background: #fde7e7; color: #a11212; }
        #reasons { margin: 0 0 0.8rem; padding-left: 1.2rem; }
        #reasons li[data-status="failed"] { color: #a11212; font-weight: bold; }
        #reasons li[data-status="notChecked"] { color: #7a4b00; }
        #error { border-left: 6px solid #a11212; }
        .error-text { font-size: 1.4rem; font-weight: bold; color: #a11212; }
        .row { display: flex; gap: 0.5rem; }
        button.secondary { background: #e7ebf0; color: #0b3d6e; }
        label.setting { font-weight: normal; }
        label.setting input { width: auto; }
        @media (max-width: 50rem) {
          main { grid-template-columns: 1fr; }
          #card, #error { grid-column: 1; grid-row: auto; order: -1; }
        }
        """#

    static let script = #"""
        'use strict';
        // The clerk's page. The token comes once in the URL fragment (never sent over the network), is kept in
        // this browser, and goes with every API call as Authorization: Bearer. Events come from /v1/events,
        // read with fetch (EventSource cannot send the token). A holder is on screen only while their card is in
        // the reader and the report lives: the panel clears when the card leaves, when the report expires, when a
        // new read starts, and on Clear.
        const $ = (id) => document.getElementById(id);
        const TOKEN_KEY = 'cccdDeskToken';
        const ENGLISH_KEY = 'cccdDeskEnglish';
        let token = null;
        let portraitURL = null;
        let shownRead = null;
        let shownReader = null;
        // Every read this page has shown (the last 64): a read arrives twice (the answer to this page's request and
        // its event, in either order, the event late on a busy desk), and one the clerk cleared must not come back.
        const seenReads = [];
        let expiryTimer = null;
        let pending = null;

        function el(tag, text, cls) {
          const e = document.createElement(tag);
          if (text !== undefined) e.textContent = text;
          if (cls) e.className = cls;
          return e;
        }

        function bilingual(node, vi, en) {
          node.replaceChildren(document.createTextNode(vi));
          if (en) node.append(' ', el('span', en, 'en'));
          return node;
        }

        function say(vi, en) { bilingual($('status'), vi, en); }

        function loadToken() {
          const m = location.hash.match(/token=([0-9A-Za-z_-]+)/);
          if (m) {
            localStorage.setItem(TOKEN_KEY, m[1]);
            history.replaceState(null, '', location.pathname);
          }
          token = localStorage.getItem(TOKEN_KEY);
          $('token-section').hidden = !!token;
        }

        function api(path, options) {
          const o = Object.assign({ cache: 'no-store' }, options || {});
          o.headers = Object.assign({ 'Authorization': 'Bearer ' + token }, o.headers || {});
          return fetch(path, o);
        }

        function keyFrom(text) {
          const t = text.trim();
          if (t.includes('|')) return { qr: t };
          if (/^\d{12}$/.test(t)) return { idNumber: t };
          if (/^\d{1,10}$/.test(t)) return { can: t };
          if (t.includes('<')) return { mrz: t };
          return null;
        }

        const STATES = {
          empty: ['Trống', 'empty'], card: ['Có thẻ', 'card present'], reading: ['Đang đọc', 'reading'],
        };

        function renderReaders(list) {
          const ul = $('readers');
          ul.replaceChildren();
          const select = $('reader-select');
          const chosen = select.value;
          select.replaceChildren(new Option('Bất kỳ (any)', ''));
          if (list.length === 0) ul.appendChild(bilingual(el('li'), 'Không có đầu đọc', 'no reader'));
          for (const r of list) {
            const li = el('li');
            li.dataset.reader = r.name;
            li.append(r.name + ': ');
            const [vi, en] = STATES[r.state] || [r.state, r.state];
            li.appendChild(bilingual(el('span', undefined, 'state'), vi, '(' + en + ')'));
            ul.appendChild(li);
            select.appendChild(new Option(r.name, r.name));
          }
          select.value = chosen;
        }

        async function refreshReaders() {
          const r = await api('/v1/readers');
          if (r.status === 401) return forgetToken();
          const body = await r.json();
          if (r.ok) renderReaders(body.readers);
          else say('Lỗi đầu đọc:', body.error ? body.error.message : String(r.status));
        }

        function forgetToken() {
          localStorage.removeItem(TOKEN_KEY);
          token = null;
          $('token-section').hidden = false;
          say('Mã truy cập không hợp lệ.', 'The access token was refused: paste it again.');
        }

        function dmy(iso) {
          if (!iso) return '—';
          const p = String(iso).slice(0, 10).split('-');
          return p.length === 3 ? p[2] + '/' + p[1] + '/' + p[0] : iso;
        }

        function dmyTime(iso) {
          if (!iso) return '—';
          const d = new Date(iso);
          if (isNaN(d)) return iso;
          const two = (n) => String(n).padStart(2, '0');
          return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()) + ' ' +
            two(d.getDate()) + '/' + two(d.getMonth() + 1) + '/' + d.getFullYear();
        }

        // Nobody on screen: the panel, the portrait, the error, the key of the last holder.
        function clearResult() {
          if (expiryTimer) clearTimeout(expiryTimer);
          expiryTimer = null;
          shownRead = null;
          shownReader = null;
          for (const id of ['holder-name', 'holder-id', 'holder-old-id', 'holder-dob', 'holder-sex', 'holder-origin',
            'holder-address', 'holder-issue', 'holder-expiry', 'verdict', 'read-info']) {
            $(id).textContent = '';
          }
          $('verdict').dataset.tone = '';
          $('reasons').replaceChildren();
          $('badges').replaceChildren();
          const img = $('portrait');
          img.hidden = true;
          img.removeAttribute('src');
          if (portraitURL) URL.revokeObjectURL(portraitURL);
          portraitURL = null;
          $('card').hidden = true;
          $('error').hidden = true;
          $('error-text').textContent = '';
          $('error-detail').textContent = '';
          $('key-input').value = '';
        }

        const CHECK_NAMES = {
          genuine: ['Xác thực', 'Genuine'], valid: ['Còn hạn', 'Valid'],
          passiveAuthentication: ['PA', 'Passive Authentication'],
          chipAuthentication: ['CA', 'Chip Authentication'],
          activeAuthentication: ['AA', 'Active Authentication'],
        };
        const STATUS_WORDS = {
          passed: ['Đạt', 'passed'], failed: ['Không đạt', 'failed'], notChecked: ['Chưa kiểm tra', 'not checked'],
        };

        function badge(key, status, reason) {
          const li = el('li', undefined, 'badge');
          li.id = 'badge-' + key;
          li.dataset.status = status;
          const [vi, en] = CHECK_NAMES[key];
          const [svi, sen] = STATUS_WORDS[status];
          li.append(vi + ': ' + svi, ' ', el('span', '(' + en + ': ' + sen + ')', 'en'));
          if (reason) li.title = reason;
          return li;
        }

        // The verdict in the clerk's words: tone, Vietnamese, English.
        function verdictOf(report) {
          const expiry = (report.holder && report.holder.dateOfExpiry) || (report.document && report.document.dateOfExpiry);
          const validity = (report.checks || {}).documentValidity || {};
          if (report.authenticity === 'genuine') {
            if (report.valid) return ['ok', 'THẺ THẬT, CÒN HẠN', 'GENUINE, VALID'];
            if (validity.status === 'failed') {
              return ['warn', 'THẺ THẬT, ĐÃ HẾT HẠN ngày ' + dmy(expiry), 'GENUINE, EXPIRED on ' + dmy(expiry)];
            }
            return ['warn', 'THẺ THẬT, CHƯA XÁC ĐỊNH ĐƯỢC HẠN', 'GENUINE, validity not established'];
          }
          if (report.authenticity === 'signerUnverified') {
            return ['warn', 'CHỮ KÝ NGUYÊN VẸN, CHƯA XÁC MINH CƠ QUAN CẤP', 'SIGNATURE INTACT, SIGNER UNVERIFIED'];
          }
          return ['bad', 'KHÔNG PHẢI THẺ THẬT', 'NOT GENUINE'];
        }

        // One line per check, in Vietnamese, with the technical reason in English.
        const REASONS = {
          passiveAuthentication: {
            passed: 'Dữ liệu trên chip đúng như khi cấp (chữ ký số của cơ quan cấp hợp lệ)',
            failed: 'Dữ liệu trên chip KHÔNG khớp chữ ký số của cơ quan cấp: có thể đã bị sửa',
            notChecked: 'Chưa kiểm tra được chữ ký số của cơ quan cấp',
          },
          chipAuthentication: {
            passed: 'Chip thật, không phải bản sao (xác thực chip)',
            failed: 'Chip KHÔNG chứng minh được là chip thật: có thể là thẻ sao chép',
            notChecked: 'Chưa kiểm tra xác thực chip',
          },
          activeAuthentication: {
            passed: 'Chip giữ khóa riêng của thẻ (xác thực chủ động)',
            failed: 'Chip KHÔNG có khóa riêng của thẻ: có thể là thẻ sao chép',
            notChecked: 'Chưa kiểm tra xác thực chủ động',
          },
          recordConsistency: {
            passed: 'Thông tin các tệp trên chip khớp nhau',
            failed: 'Thông tin các tệp trên chip mâu thuẫn nhau',
            notChecked: 'Chưa đối chiếu thông tin các tệp',
          },
        };
        const CHECK_ENGLISH = {
          passiveAuthentication: 'Passive Authentication', chipAuthentication: 'Chip Authentication',
          activeAuthentication: 'Active Authentication', recordConsistency: 'Record consistency',
          documentValidity: 'Document validity',
        };

        function reasonLines(report) {
          const out = [];
          const checks = report.checks || {};
          for (const key of ['passiveAuthentication', 'chipAuthentication', 'activeAuthentication', 'recordConsistency']) {
            const v = checks[key];
            if (!v) continue;
            out.push([v.status, REASONS[key][v.status] || v.status, CHECK_ENGLISH[key] + ': ' + v.status + (v.reason ? ' (' + v.reason + ')' : '')]);
          }
          const expiry = (report.holder && report.holder.dateOfExpiry) || (report.document && report.document.dateOfExpiry);
          const v = checks.documentValidity || { status: 'notChecked', reason: '' };
          const vi = v.status === 'passed' ? (expiry ? 'Còn hạn đến ngày ' + dmy(expiry) : 'Thẻ không thời hạn')
            : v.status === 'failed' ? 'Đã hết hạn ngày ' + dmy(expiry) : 'Chưa xác định được hạn của thẻ';
          out.push([v.status, vi, 'Document validity: ' + v.status + (v.reason ? ' (' + v.reason + ')' : '')]);
          return out;
        }

        async function showReport(report) {
          // The same read arrives twice (the answer to this page's request and its event): shown once, and never
          // again once cleared.
          if (report.readId) {
            if (seenReads.includes(report.readId)) return;
            seenReads.push(report.readId);
            if (seenReads.length > 64) seenReads.shift();
          }
          clearResult();
          shownRead = report.readId || null;
          shownReader = report.reader || null;
          const h = report.holder || {};
          const [tone, vi, en] = verdictOf(report);
          const verdict = $('verdict');
          verdict.dataset.tone = tone;
          bilingual(verdict, vi, en);
          for (const [status, rvi, ren] of reasonLines(report)) {
            const li = bilingual(el('li'), rvi, ren);
            li.dataset.status = status;
            $('reasons').appendChild(li);
          }
          if (report.portrait && report.portrait.problem) {
            // A portrait the service would not decode (its header is outside the image bounds, or it is damaged).
            const li = bilingual(el('li'), 'Không hiển thị được ảnh chân dung', report.portrait.problem);
            li.dataset.status = 'notChecked';
            $('reasons').appendChild(li);
          }
          $('holder-name').textContent = h.fullName || '—';
          $('holder-id').textContent = h.idNumber || '—';
          $('holder-old-id').textContent = h.oldIdNumber || '—';
          $('holder-dob').textContent = dmy(h.dateOfBirth);
          bilingual($('holder-sex'), h.sex === 'M' ? 'Nam' : h.sex === 'F' ? 'Nữ' : '—',
            h.sex === 'M' ? '(Male)' : h.sex === 'F' ? '(Female)' : '');
          $('holder-origin').textContent = h.placeOfOrigin || '—';
          $('holder-address').textContent = h.placeOfResidence || '—';
          $('holder-issue').textContent = dmy(h.dateOfIssue);
          if (h.dateOfExpiry) $('holder-expiry').textContent = dmy(h.dateOfExpiry);
          else bilingual($('holder-expiry'), 'Không thời hạn', '(no expiry)');
          const badges = $('badges');
          // Genuine is passed only on the full evidence; "signer unverified" is not passed.
          badges.appendChild(badge('genuine', report.genuine ? 'passed' : report.authenticity === 'notGenuine' ? 'failed' : 'notChecked', (report.reasons || []).join('; ')));
          badges.appendChild(badge('valid', report.valid ? 'passed' : 'failed', ''));
          for (const k of ['passiveAuthentication', 'chipAuthentication', 'activeAuthentication']) {
            const v = (report.checks || {})[k] || { status: 'notChecked', reason: '' };
            badges.appendChild(badge(k, v.status, v.reason));
          }
          bilingual($('read-info'), 'Đọc lúc ' + dmyTime(report.readAt) + (report.reader ? ' trên đầu đọc ' + report.reader : ''),
            '(read at ' + (report.readAt || '?') + (report.reader ? ' in ' + report.reader : '') + ')');
          $('card').hidden = false;
          // The report's lifetime: the holder leaves the screen when the service erases it.
          if (report.expiresAt) {
            const left = new Date(report.expiresAt).getTime() - Date.now();
            expiryTimer = setTimeout(() => { clearResult(); say('Đã xóa kết quả (hết thời gian lưu).', 'The report expired and was cleared.'); }, Math.max(0, left));
          }
          if (report.portraitURL) {
            const id = shownRead;
            const r = await api(report.portraitURL);
            if (r.ok && shownRead === id) {
              portraitURL = URL.createObjectURL(await r.blob());
              const img = $('portrait');
              img.src = portraitURL;
              img.hidden = false;
            }
          }
          say('Đã đọc thẻ: ' + vi, 'Card read: ' + en);
          const input = $('key-input');
          input.focus();
          input.select();
        }

        const ERRORS = {
          accessDenied: 'Thẻ từ chối khóa: kiểm tra lại CAN hoặc số CCCD',
          cardRemoved: 'Thẻ bị rút ra trong khi đọc: đặt lại thẻ và đọc lại',
          noCard: 'Không có thẻ trên đầu đọc',
          noReader: 'Không có đầu đọc nào hoạt động',
          unknownReader: 'Không có đầu đọc này',
          cardError: 'Chip trả lời sai: không đọc được thẻ',
          busy: 'Đầu đọc đang bận',
          cancelled: 'Đã hủy lệnh đọc',
          badRequest: 'Khóa không hợp lệ',
        };

        // An error stands alone: no earlier holder next to it.
        function showError(code, message) {
          clearResult();
          $('error-text').textContent = ERRORS[code] || 'Không đọc được thẻ';
          $('error-detail').textContent = message || code || '';
          $('error').hidden = false;
          say('Không đọc được thẻ.', 'The card was not read.');
        }

        function setPending(p) {
          pending = p;
          $('cancel-button').hidden = !p;
        }

        async function read(event) {
          event.preventDefault();
          const key = keyFrom($('key-input').value);
          if (!key) return showError('badRequest', 'Not a CAN, ID number, QR text or MRZ.');
          const typed = $('key-input').value;
          clearResult();  // the last holder goes before anything else happens
          $('key-input').value = typed;
          const requestId = 'page-' + Date.now() + '-' + Math.random().toString(36).slice(2);
          const controller = new AbortController();
          setPending({ requestId, controller });
          const body = Object.assign({ fields: 'all', wait: 120, requestId }, key);
          if ($('reader-select').value) body.reader = $('reader-select').value;
          say('Đang chờ thẻ…', 'Waiting for the card…');
          try {
            const r = await api('/v1/read', {
              method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
              signal: controller.signal,
            });
            if (r.status === 401) return forgetToken();
            const answer = await r.json();
            if (r.ok) await showReport(answer);
            else showError(answer.error ? answer.error.code : '', answer.error ? answer.error.message : String(r.status));
          } catch (e) {
            if (e.name === 'AbortError') showError('cancelled', 'cancelled');
            else showError('', String(e));
          } finally {
            if (pending && pending.requestId === requestId) setPending(null);
          }
        }

        async function cancel() {
          if (!pending) return;
          const { requestId, controller } = pending;
          setPending(null);
          try {
            await api('/v1/read/cancel', {
              method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ requestId }),
            });
          } catch (e) { /* the abort below ends it on this side anyway */ }
          controller.abort();
        }

        function handle(name, data) {
          if (name === 'cardInserted') refreshReaders();
          if (name === 'cardRemoved') {
            refreshReaders();
            if (shownReader && data.reader === shownReader) {
              clearResult();
              say('Thẻ đã được lấy ra; đã xóa kết quả.', 'The card left the reader; the report was cleared.');
            }
          }
          if (name === 'reportCleared' && data.id === shownRead) {
            clearResult();
            say('Đã xóa kết quả.', 'The report was cleared (' + data.reason + ').');
          }
          if (name === 'readStarted') { say('Đang đọc thẻ…', 'Reading ' + data.reader + '…'); refreshReaders(); }
          if (name === 'readProgress') say('Đang đọc:', data.step);
          if (name === 'reportReady') { showReport(data.report); refreshReaders(); }
          if (name === 'readFailed' && !pending) { showError(data.error.code, data.error.message); refreshReaders(); }
        }

        async function listen() {
          while (token) {
            try {
              const r = await api('/v1/events');
              if (r.status === 401) return forgetToken();
              const reader = r.body.getReader();
              const decoder = new TextDecoder();
              let buffer = '';
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                let end;
                while ((end = buffer.indexOf('\n\n')) >= 0) {
                  const frame = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  let name = 'message', data = '';
                  for (const line of frame.split('\n')) {
                    if (line.startsWith('event: ')) name = line.slice(7);
                    else if (line.startsWith('data: ')) data += line.slice(6);
                  }
                  if (data) handle(name, JSON.parse(data));
                }
              }
            } catch (e) { /* the service restarted: listen again */ }
            await new Promise((ok) => setTimeout(ok, 2000));
          }
        }

        function setEnglish(on) {
          document.body.classList.toggle('show-en', on);
          $('english').checked = on;
          localStorage.setItem(ENGLISH_KEY, on ? '1' : '0');
        }

        function setUp() {
          setEnglish(localStorage.getItem(ENGLISH_KEY) === '1');
          $('english').addEventListener('change', (e) => setEnglish(e.target.checked));
          $('read-form').addEventListener('submit', read);
          $('cancel-button').addEventListener('click', cancel);
          $('clear-button').addEventListener('click', () => { clearResult(); say('Đã xóa màn hình.', 'Cleared.'); $('key-input').focus(); });
          $('token-form').addEventListener('submit', (e) => {
            e.preventDefault();
            localStorage.setItem(TOKEN_KEY, $('token-input').value.trim());
            $('token-input').value = '';
            start();
          });
          start();
        }

        async function start() {
          loadToken();
          if (!token) return say('Cần mã truy cập.', 'An access token is needed.');
          say('Sẵn sàng.', 'Ready: type or scan the key, then put the card on the reader.');
          await refreshReaders();
          // Only a report whose card is still in its reader (the service says none otherwise).
          const latest = await api('/v1/reads/latest');
          if (latest.ok) await showReport(await latest.json());
          listen();
        }

        document.addEventListener('DOMContentLoaded', setUp);
        """#
}
