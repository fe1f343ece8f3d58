"""The page's look and its few lines of browser script.

The preview follows the Word file (``draft.export``): title centred, level-1 headings in a sans (黑体) face
with the body's two-character indent (not centred, not bold), 楷体 run-in level-2 headings (not bold), 仿宋-like
serif body. The toolbars stay in view while the draft scrolls (the part tools under the toolbar at its
measured height). The script asks before a tab is left while a draft is being written or the form has changes
not yet in a saved draft (``#work-state`` says which; typing marks the form changed).
"""

CSS = """
body, .gradio-container { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; }
/* Gradio hides the container's overflow, which makes it the scroll box of every sticky toolbar inside (so
   none sticks); clip cuts the same overflow without becoming a scroll container. */
.gradio-container { overflow: clip !important; }
#app-title { margin: 0; }
#app-title h3 { margin: 0.2em 0; }
#gw-toolbar { position: sticky; top: 0; z-index: 60; background: var(--background-fill-primary);
  padding: 6px 4px; border-bottom: 1px solid var(--border-color-primary); align-items: center; gap: 8px; }
#draft-status { flex: 1 1 240px; min-width: 200px; font-size: 14px; }
#draft-status p { margin: 0; }
/* the middle column as tall as the form, so its tools can stick all the way down; its parts keep their height */
#draft-column { align-self: stretch !important; }
#draft-column > * { flex-grow: 0 !important; }
#part-tools { position: sticky; top: var(--gw-toolbar-h, 58px); z-index: 50; background: var(--background-fill-primary);
  padding-bottom: 4px; }
#part-tools button { white-space: nowrap; }
#part-row { align-items: center; gap: 4px; flex-wrap: wrap; }
#draft-view .gw-draft, #part-diff { font-family: "Noto Serif CJK SC", "FangSong", "仿宋", serif; font-size: 16px;
  line-height: 1.9; color: var(--body-text-color); }
.gw-draft p { margin: 0.15em 0; }
.gw-title { text-align: center; font-size: 22px; font-weight: bold; margin: 0.3em 0 0.2em !important; }
.gw-subtitle { text-align: center; font-family: "KaiTi", "楷体", "Noto Serif CJK SC", serif; }
.gw-sal { text-indent: 0; }
.gw-h1 { text-indent: 2em; font-family: "Noto Sans CJK SC", "SimHei", "黑体", sans-serif; font-weight: 500; }
.gw-h2, .gw-p { text-indent: 2em; }
.gw-runin { font-family: "KaiTi", "楷体", "Noto Serif CJK SC", serif; }  /* 楷体, not bold, as in the Word file */
.gw-s { cursor: pointer; border-radius: 2px; }
.gw-s:hover { background: rgba(80, 130, 230, 0.12); }
.gw-s.sel { background: rgba(80, 130, 230, 0.25); outline: 1px solid rgba(80, 130, 230, 0.6); }
.gw-s.k-fact { background: #fff1a8; }
.gw-s.k-gap { color: #a11; background: #fde8e8; }
.gw-s.k-edit { text-decoration: underline dotted #888; }
.gw-s.gw-flag { text-decoration: underline wavy #d9822b; text-underline-offset: 3px; background: #fff4e5; }
.gw-aside { font-family: "Noto Sans CJK SC", sans-serif; font-size: 13px; line-height: 1.6; margin: 0.4em 0 0.6em 2em;
  padding: 6px 10px; border-left: 3px solid #e0b800; background: #fffbe6; }
.gw-aside ul { margin: 0.2em 0 0 1.2em; }
.gw-progress { color: #777; font-style: italic; text-indent: 0 !important; }
.gw-empty p { color: #777; text-indent: 0; font-family: "Noto Sans CJK SC", sans-serif; font-size: 15px; }
.gw-note { color: #666; font-size: 13px; }
.gw-srcbox, #lib-results, #doc-view { font-size: 14px; line-height: 1.7; }
.gw-clicked { font-style: italic; color: #444; }
.gw-srctitle { font-weight: bold; margin: 0.5em 0 0.1em; }
.gw-path { color: #555; font-size: 13px; margin: 0; }
.gw-ctx { color: #333; margin: 0.2em 0 0.6em; }
.gw-ctx mark { background: #fff1a8; }
.gw-role { color: #2a6; font-size: 12px; border: 1px solid #9c9; border-radius: 3px; padding: 0 3px; }
.gw-diff { font-size: 14px; border: 1px solid var(--border-color-primary); border-radius: 6px; padding: 6px 10px; }
.gw-diffhead { font-weight: bold; margin: 0; }
.gw-cols { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.gw-cols del { color: #a11; background: #fde8e8; }
.gw-cols ins { color: #161; background: #e3f6e3; text-decoration: none; }
.gw-osec { padding: 4px; margin-bottom: 6px; }
.gw-osec [id^=ol-add-].block { border: 1px dashed var(--border-color-primary) !important; }
#checklist { font-size: 13px; line-height: 1.6; }
#checklist ul { padding-left: 0.2em; list-style: none; }
#checklist li { margin: 0.15em 0; }
#part-target { max-width: 70px; }
#outline-head { scroll-margin-top: 70px; }
#part-editor, #part-diff, #part-text { scroll-margin-top: calc(var(--gw-toolbar-h, 58px) + 110px); }
@media (max-width: 1180px) {
  #request-form { min-width: 240px !important; flex: 3 1 240px !important; }
  #draft-column { min-width: 400px !important; flex: 5 1 400px !important; }
  #side-column { min-width: 230px !important; flex: 3 1 230px !important; }
  .gradio-container { padding-left: 8px !important; padding-right: 8px !important; }
  /* a point, its section and its two buttons on one line in the narrow form column */
  .gw-osec .row:has([id^=ol-mv-]) { flex-wrap: nowrap !important; }
  .gw-osec [id^=ol-p-] { min-width: min(60px, 100%) !important; }
  .gw-osec [id^=ol-mv-] { min-width: min(88px, 100%) !important; }
}
"""

HEAD = """
<script>
window.__gwDirty = false;
window.__gwState = 'clean';
document.addEventListener('input', function (e) {
  var t = e.target;
  if (t && t.closest && t.closest('#request-form, #outline-editor, #part-editor')) { window.__gwDirty = true; }
}, true);
(function gwWatchToolbar() {  // the part tools stick right under the toolbar, however many lines it takes
  var bar = document.querySelector('#gw-toolbar');
  if (!bar || !window.ResizeObserver) { setTimeout(gwWatchToolbar, 300); return; }
  new ResizeObserver(function () {
    document.documentElement.style.setProperty('--gw-toolbar-h', bar.offsetHeight + 'px');
  }).observe(bar);
})();
window.addEventListener('beforeunload', function (e) {
  if (window.__gwState === 'busy' || window.__gwDirty) { e.preventDefault(); e.returnValue = ''; return ''; }
});
</script>
"""
