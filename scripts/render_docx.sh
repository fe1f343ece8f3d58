#!/usr/bin/env bash
# Render a .docx to PDF and PNG pages for a visual check of the GB/T 9704 layout:
#   scripts/render_docx.sh FILE.docx OUTDIR
# LibreOffice runs headless with a throw-away profile (so it never touches or waits on the user's); the
# licensed 公文 fonts (仿宋_GB2312, 方正小标宋简体, 楷体_GB2312) are mapped to Noto CJK through a private
# fontconfig file so the pages show serif/sans roughly as Word would with the real fonts.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "用法：$0 FILE.docx OUTDIR" >&2
  exit 2
fi
docx=$1
out=$2
[ -f "$docx" ] || { echo "找不到文件：$docx" >&2; exit 2; }
command -v soffice >/dev/null || { echo "缺少 LibreOffice：apt-get install -y --no-install-recommends libreoffice-writer-nogui" >&2; exit 2; }
command -v pdftoppm >/dev/null || { echo "缺少 pdftoppm：apt-get install -y poppler-utils" >&2; exit 2; }
mkdir -p "$out"
profile=$(mktemp -d)
fonts=$(mktemp -d)
trap 'rm -rf "$profile" "$fonts"' EXIT
cat > "$fonts/fonts.conf" <<'XML'
<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias><family>仿宋_GB2312</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias><family>仿宋</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias><family>方正小标宋简体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias><family>楷体_GB2312</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
XML
FONTCONFIG_FILE="$fonts/fonts.conf" soffice --headless --norestore "-env:UserInstallation=file://$profile" \
  --convert-to pdf --outdir "$out" "$docx" >/dev/null
pdf="$out/$(basename "${docx%.*}").pdf"
[ -f "$pdf" ] || { echo "转换失败：没有生成 $pdf" >&2; exit 1; }
pdftoppm -png -r 60 "$pdf" "$out/$(basename "${docx%.*}")"
ls "$out"/*.png
