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
            </form>
          </section>
          <section aria-labelledby="readers-title">
            <h2 id="readers-title">Đầu đọc <span class="en">Readers</span></h2>
            <ul id="readers"></ul>
          </section>
          <section id="card" aria-labelledby="card-title" hidden>
            <h2 id="card-title">Thẻ vừa đọc <span class="en">Last card</span></h2>
            <div class="card-body">
              <img id="portrait" alt="Ảnh chân dung (Portrait)" hidden>
              <dl>
                <dt>Họ và tên <span class="en">Full name</span></dt><dd id="holder-name"></dd>
                <dt>Số định danh <span class="en">ID number</span></dt><dd id="holder-id"></dd>
                <dt>Ngày sinh <span class="en">Date of birth</span></dt><dd id="holder-dob"></dd>
                <dt>Giới tính <span class="en">Sex</span></dt><dd id="holder-sex"></dd>
                <dt>Nơi thường trú <span class="en">Address</span></dt><dd id="holder-address"></dd>
                <dt>Có giá trị đến <span class="en">Expiry</span></dt><dd id="holder-expiry"></dd>
              </dl>
            </div>
            <ul id="badges" aria-label="Kiểm tra (Checks)"></ul>
            <p id="verdict"></p>
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
        #card { grid-column: 2; grid-row: 1 / span 3; }
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
        #verdict { font-weight: bold; }
        @media (max-width: 50rem) { main { grid-template-columns: 1fr; } #card { grid-column: 1; grid-row: auto; } }
        """#

    static let script = #"""
        'use strict';
        // The clerk's page. The token comes once in the URL fragment (never sent over the network), is kept in
        // this browser, and goes with every API call as Authorization: Bearer. Events come from /v1/events,
        // read with fetch (EventSource cannot send the token).
        const $ = (id) => document.getElementById(id);
        const TOKEN_KEY = 'cccdDeskToken';
        let token = null;
        let portraitURL = null;
        let shownRead = null;

        function say(vi, en) {
          const s = $('status');
          s.textContent = vi + ' ';
          const span = document.createElement('span');
          span.className = 'en';
          span.textContent = en;
          s.appendChild(span);
        }

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
          if (list.length === 0) {
            const li = document.createElement('li');
            li.textContent = 'Không có đầu đọc (no reader)';
            ul.appendChild(li);
          }
          for (const r of list) {
            const li = document.createElement('li');
            li.dataset.reader = r.name;
            li.append(r.name + ': ');
            const st = document.createElement('span');
            st.className = 'state';
            const [vi, en] = STATES[r.state] || [r.state, r.state];
            st.textContent = vi + ' (' + en + ')';
            li.appendChild(st);
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
          const p = iso.split('-');
          return p.length === 3 ? p[2] + '/' + p[1] + '/' + p[0] : iso;
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
          const li = document.createElement('li');
          li.className = 'badge';
          li.id = 'badge-' + key;
          li.dataset.status = status;
          const [vi, en] = CHECK_NAMES[key];
          const [svi, sen] = STATUS_WORDS[status];
          li.textContent = vi + ' (' + en + '): ' + svi + ' (' + sen + ')';
          if (reason) li.title = reason;
          return li;
        }

        async function showReport(report) {
          // The same read arrives twice (the answer to this page's request and its event): shown once.
          if (report.readId && report.readId === shownRead && $('holder-name').textContent) return;
          shownRead = report.readId;
          $('card').hidden = false;
          const h = report.holder || {};
          $('holder-name').textContent = h.fullName || '—';
          $('holder-id').textContent = h.idNumber || '—';
          $('holder-dob').textContent = dmy(h.dateOfBirth);
          $('holder-sex').textContent = h.sex === 'M' ? 'Nam (Male)' : h.sex === 'F' ? 'Nữ (Female)' : '—';
          $('holder-address').textContent = h.placeOfResidence || '—';
          $('holder-expiry').textContent = h.dateOfExpiry ? dmy(h.dateOfExpiry) : 'Không thời hạn (no expiry)';
          const badges = $('badges');
          badges.replaceChildren();
          // Genuine is passed only on the full evidence; "signer unverified" is not passed.
          badges.appendChild(badge('genuine', report.genuine ? 'passed' : report.authenticity === 'notGenuine' ? 'failed' : 'notChecked', report.reasons.join('; ')));
          badges.appendChild(badge('valid', report.valid ? 'passed' : 'failed', ''));
          for (const k of ['passiveAuthentication', 'chipAuthentication', 'activeAuthentication']) {
            const v = report.checks[k] || { status: 'notChecked', reason: '' };
            badges.appendChild(badge(k, v.status, v.reason));
          }
          $('verdict').textContent = report.verdict;
          const img = $('portrait');
          if (portraitURL) URL.revokeObjectURL(portraitURL);
          portraitURL = null;
          img.hidden = true;
          if (report.portraitURL) {
            const r = await api(report.portraitURL);
            if (r.ok) {
              portraitURL = URL.createObjectURL(await r.blob());
              img.src = portraitURL;
              img.hidden = false;
            }
          }
          say('Đã đọc thẻ: ' + report.verdict, 'Card read.');
          const input = $('key-input');
          input.focus();
          input.select();
        }

        async function read(event) {
          event.preventDefault();
          const key = keyFrom($('key-input').value);
          if (!key) return say('Khóa không hợp lệ.', 'Not a CAN, ID number, QR text or MRZ.');
          const body = Object.assign({ fields: 'all', wait: 120 }, key);
          if ($('reader-select').value) body.reader = $('reader-select').value;
          say('Đang chờ thẻ…', 'Waiting for the card…');
          const r = await api('/v1/read', {
            method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
          });
          if (r.status === 401) return forgetToken();
          const answer = await r.json();
          if (r.ok) await showReport(answer);
          else say('Không đọc được thẻ:', answer.error ? answer.error.message : String(r.status));
        }

        function handle(name, data) {
          if (name === 'cardInserted' || name === 'cardRemoved') refreshReaders();
          if (name === 'readStarted') { say('Đang đọc thẻ…', 'Reading ' + data.reader + '…'); refreshReaders(); }
          if (name === 'readProgress') say('Đang đọc:', data.step);
          if (name === 'reportReady') { showReport(data.report); refreshReaders(); }
          if (name === 'readFailed') say('Không đọc được thẻ:', data.error.message);
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

        function setUp() {
          $('read-form').addEventListener('submit', read);
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
          const latest = await api('/v1/reads/latest');
          if (latest.ok) await showReport(await latest.json());
          listen();
        }

        document.addEventListener('DOMContentLoaded', setUp);
        """#
}
