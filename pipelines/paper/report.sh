#!/usr/bin/env bash
# The results page of the paper recipe: OUT/results/index.html and its Markdown twin index.md,
# every figure and table of the run, each captioned with the commands that made it (recorded by
# the Makefile in OUT/cmd/NAME.sh as the stages ran).
#   report.sh OUT PRESET "VARIANTS" "PROBE_VARIANTS" ["DATASET" ["SKIP" [STYLE_ENSEMBLE]]]
# DATASET: the name and folder of a DATA run (empty: the synthetic birds); SKIP: sections not
# made for it (eval, fig7), noted on the page; STYLE_ENSEMBLE: style encoders a variant (default 1).
# A stage whose command was not recorded (OUT/cmd/NAME.sh missing) fails the page with one line
# naming it, after every section was tried; nothing is written then.
# The $(prefixed ...) lists of stage names split into words on purpose.
# shellcheck disable=SC2046
set -euo pipefail
[ $# -ge 4 ] && [ $# -le 7 ] || { echo "usage: report.sh OUT PRESET VARIANTS PROBE_VARIANTS [DATASET [SKIP [STYLE_ENSEMBLE]]]" >&2; exit 1; }
out=$1 preset=$2 variants=$3 probes=$4 dataset=${5:-} skip=" ${6:-} " ensemble=${7:-1}
[[ "$ensemble" =~ ^[1-9][0-9]*$ ]] || { echo "report.sh: STYLE_ENSEMBLE '$ensemble': expected a number of style encoders, 1 or more" >&2; exit 1; }
what=${dataset:-the synthetic birds}
skipped() { [[ "$skip" == *" $1 "* ]]; }
res=$out/results cmd=$out/cmd
html=$res/index.html.tmp md=$res/index.md.tmp

esc() { sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g'; }

# A TSV file as an HTML table and as a Markdown table (first line: the header).
tsv_html() {
  echo '<table>'
  esc < "$1" | awk -F'\t' '{ tag = NR == 1 ? "th" : "td"; printf "<tr>"; for (i = 1; i <= NF; i++) printf "<%s>%s</%s>", tag, $i, tag; print "</tr>" }'
  echo '</table>'
}
tsv_md() {
  awk -F'\t' '{ gsub(/\|/, "\\|"); printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; print "";
                if (NR == 1) { printf "|"; for (i = 1; i <= NF; i++) printf " --- |"; print "" } }' "$1"
}

# The stages the page quotes (for the final list) and those without a recorded command (an
# error, reported once at the end: the page would lie).
used=() missing=()
# The commands of stage names (checked by item first).
commands() {
  local n
  for n in "$@"; do
    [ -s "$cmd/$n.sh" ] && cat "$cmd/$n.sh"
  done
  return 0
}
cmd_html() { echo '<pre>'; commands "$@" | esc; echo '</pre>'; }
cmd_md() { echo '```sh'; commands "$@"; echo '```'; }

# item KIND FILE TITLE TEXT STAGE...: a figure (png), a table (tsv) or a text file (txt).
item() {
  local kind=$1 file=$2 title=$3 text=$4; shift 4
  [ -s "$res/$file" ] || { echo "report.sh: $res/$file is missing or empty" >&2; exit 1; }
  local n
  for n in "$@"; do
    [[ " ${used[*]} " == *" $n "* ]] || used+=("$n")
    [ -s "$cmd/$n.sh" ] || [[ " ${missing[*]} " == *" $n "* ]] || missing+=("$n")
  done
  {
    echo "<h2>$(esc <<< "$title")</h2>"
    echo "<p>$(esc <<< "$text")</p>"
    case $kind in
      png) echo "<p><a href=\"$file\"><img src=\"$file\" alt=\"$(esc <<< "$title")\"></a></p>" ;;
      tsv) tsv_html "$res/$file"; echo "<p><a href=\"$file\">$file</a></p>" ;;
      captions) { printf 'key\tcaption\n'; cat "$res/$file"; } > "$res/.captions.tmp"; tsv_html "$res/.captions.tmp"
                echo "<p><a href=\"$file\">$file</a></p>" ;;
      txt) echo '<pre>'; esc < "$res/$file"; echo '</pre>'; echo "<p><a href=\"$file\">$file</a></p>" ;;
    esac
    echo '<details open><summary>Made by</summary>'
    cmd_html "$@"
    echo '</details>'
  } >> "$html"
  {
    echo "## $title"
    echo
    echo "$text"
    echo
    case $kind in
      png) echo "![$title]($file)" ;;
      tsv) tsv_md "$res/$file"; echo; echo "[$file]($file)" ;;
      captions) tsv_md "$res/.captions.tmp"; echo; echo "[$file]($file)"; rm -f "$res/.captions.tmp" ;;
      txt) echo '```'; cat "$res/$file"; echo '```' ;;
    esac
    echo
    echo "Made by:"
    echo
    cmd_md "$@"
    echo
  } >> "$md"
}

# also FILE TEXT: a link to a further file of the item above.
also() {
  [ -s "$res/$1" ] || { echo "report.sh: $res/$1 is missing or empty" >&2; exit 1; }
  echo "<p>Also: <a href=\"$1\">$1</a>, $(esc <<< "$2").</p>" >> "$html"
  printf 'Also: [%s](%s), %s.\n\n' "$1" "$1" "$2" >> "$md"
}

prefixed() { local p=$1 v; shift; for v in "$@"; do echo "$p-$v"; done; }
# styles VARIANT...: the style-encoder stages of the variants (style-V, style-V.2, ...).
styles() { local v k; for v in "$@"; do echo "style-$v"; for ((k = 2; k <= ensemble; k++)); do echo "style-$v.$k"; done; done; }
ensemble_text() { [ "$ensemble" -eq 1 ] || echo " (the mean of $ensemble encoders' z, invert-style seeds one apart)"; }
# shellcheck disable=SC2086
set -- $variants
all_variants=("$@")
# shellcheck disable=SC2206
probe_variants=($probes)

cat > "$html" <<EOF
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>t2igan: the paper's experiments (PRESET=$preset)</title>
<style>
body { font-family: sans-serif; max-width: 70em; margin: 1em auto; padding: 0 1em; }
img { max-width: 100%; image-rendering: pixelated; border: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; display: block; overflow-x: auto; }
td, th { border: 1px solid #ccc; padding: 0.2em 0.4em; text-align: left; }
pre { background: #f4f4f4; padding: 0.5em; overflow-x: auto; font-size: 0.8em; }
</style></head><body>
<h1>t2igan: the paper's experiments on $(esc <<< "$what") (PRESET=$preset)</h1>
<p>Reed et al. 2016, "Generative Adversarial Text to Image Synthesis", reproduced by
pipelines/paper/Makefile; made $(date -u '+%Y-%m-%d %H:%M UTC'). The judge of the evaluation
table is a classifier trained here on the dataset's real images (train-judge), not Inception.</p>
EOF
cat > "$md" <<EOF
# t2igan: the paper's experiments on $what (PRESET=$preset)

Reed et al. 2016, "Generative Adversarial Text to Image Synthesis", reproduced by
pipelines/paper/Makefile; made $(date -u '+%Y-%m-%d %H:%M UTC'). The judge of the evaluation
table is a classifier trained here on the dataset's real images (train-judge), not Inception.

EOF

if [ -z "$dataset" ]; then
  item txt check.txt "The dataset" \
    "The rendered birds, checked as any CUB-200-2011 folder." birds check
else
  item txt check.txt "The dataset" \
    "$dataset, given as DATA (not rendered), checked by check-dataset." birds check
fi
# TEXT_COUNT: the text encoder learnt from a separate rendering of the same species (its own stages).
if [ -s "$cmd/text.sh" ] && grep -q 'text-images-trainval' "$cmd/text.sh"; then
  text_data=(text-birds text-images text-captions)
  text_what="The char-CNN-RNN text encoder trained on the seen (trainval) classes of a separate rendering of the same species (TEXT_COUNT birds), evaluated on this run's unseen (test) classes: top-1 accuracy and AP@50."
  text_seen="whose images and captions the GANs trained on (the text encoder learnt from the separate rendering; held out only from the judge)"
else
  text_data=(images-trainval captions-trainval)
  text_what="The char-CNN-RNN text encoder trained on the seen (trainval) classes, evaluated on the unseen (test) classes: top-1 accuracy and AP@50."
  text_seen="whose images and captions the GANs and the text encoder trained on (held out only from the judge)"
fi
item txt zeroshot.txt "Text encoder: zero-shot accuracy" "$text_what" \
  "${text_data[@]}" text images-test captions-test zeroshot
item captions fig3-captions.tsv "Figure 3: the captions" \
  "The captions of figure 3: seenN from classes the GANs were trained on, unseenN from held-out classes." fig3-captions
item png fig3.png "Figure 3: the four variants on the same captions" \
  "A row per caption (in the order of the table above) and variant (label variant:caption), the same noise vectors z in every row of a caption." \
  emb-trainval $(prefixed gan "${all_variants[@]}") fig3-emb fig3-z $(prefixed fig3 "${all_variants[@]}") fig3-png
item png fig8-sentence.png "Figure 8 (left): sentence interpolation" \
  "GAN-INT-CLS: from caption seen1 to caption unseen1 (left to right), one row per fixed z." fig8-sentence-emb fig8-sentence
item png fig8-style.png "Figure 8 (right): style interpolation" \
  "GAN-INT-CLS: from one z to another (spherical), one row per fixed caption (labelled)." fig8-style-z fig8-style
item png fig6.png "Figure 6: style transfer" \
  "A real query image of an unseen class in the first column; its z predicted by the style encoder of GAN-INT-CLS$(ensemble_text), rendered with each figure-3 caption in the next columns." \
  $(styles int-cls) fig6-queries fig6-z fig6
if ! skipped fig7; then
item png fig7-roc.png "Figure 7: disentangling, ROC curves" \
  "Do vectors tell images of the same pose or background from different ones? The style encoders' z of the test images$(ensemble_text) against the mean caption embedding (caption), a curve per model." \
  emb-mean-test $(styles "${probe_variants[@]}") $(prefixed probe-z "${probe_variants[@]}") probe
item tsv probe.tsv "Section 5.3: AU-ROC" \
  "AU-ROC mean and standard deviation over the folds, per vector stream and task." probe
also roc.tsv "the ROC curves' points (vectors, task, fpr, tpr, threshold)"
also explain.tsv "what each stream codes: the share of its variance each part of the style explains (probe-disentangle --explain)"
fi
if ! skipped eval; then
item tsv eval.tsv "The evaluation table" \
  "Samples of every variant from the captions of CUB's test-split images, scored by eval-images (R-precision with the text model, attribute accuracy, judge-FD and judge-IS with the judge, diversity, and the share of the background's colour fixed by the caption, background_by_caption, which the noise should set). seen: images of the training classes, $text_seen; unseen: images of the held-out classes, which no model saw. The column real is the same real images: the ceiling." \
  images-cub-train images-cub-test judge emb-mean-cub-test eval-emb eval-real \
  $(prefixed eval-samples "${all_variants[@]}") $(prefixed eval "${all_variants[@]}") eval-table
fi
item png zeroshot.png "Zero-shot samples" \
  "GAN-INT-CLS samples for captions of unseen classes, a row per caption (label zsN: the captions are below)." \
  zeroshot-captions zeroshot-png
item captions zeroshot-captions.tsv "Zero-shot samples: the captions" \
  "The first caption of some test images (classes no GAN and no text encoder saw)." zeroshot-captions

# note TITLE TEXT: a section without a file or command.
note() {
  { echo "<h2>$(esc <<< "$1")</h2>"; echo "<p>$(esc <<< "$2")</p>"; } >> "$html"
  { echo "## $1"; echo; echo "$2"; echo; } >> "$md"
}
notrun=()
skipped fig7 && notrun+=("figure 7 and section 5.3 (the disentangling probe needs part locations, parts/part_locs.txt, for its pose labels)")
skipped eval && notrun+=("the evaluation table (the judge learns CUB's attributes, attributes/image_attribute_labels.txt, on CUB's image split, train_test_split.txt)")
if [ ${#notrun[@]} -gt 0 ]; then
  note "Not made for this dataset" "$what has none of these files, so this page has no $(printf '%s; ' "${notrun[@]}" | sed 's/; $//')."
fi

if [ ${#missing[@]} -gt 0 ]; then
  rm -f "$html" "$md"
  echo "report.sh: no recorded command for stage(s) ${missing[*]} (in $cmd/): run make for them again (or make clean, then make)" >&2
  exit 1
fi

# The commands of the stages above (not leftovers of other settings), oldest first.
ordered=()
while read -r f; do ordered+=("$f"); done < <(cd "$cmd" && ls -tr -- $(printf '%s.sh\n' "${used[@]}"))
{
  echo '<h2>Every command, in the order the stages ran</h2>'
  echo '<pre>'
  for f in "${ordered[@]}"; do echo "# $f"; esc < "$cmd/$f"; done
  echo '</pre>'
  echo '</body></html>'
} >> "$html"
{
  echo '## Every command, in the order the stages ran'
  echo
  echo '```sh'
  for f in "${ordered[@]}"; do echo "# $f"; cat "$cmd/$f"; done
  echo '```'
} >> "$md"
mv "$html" "$res/index.html"
mv "$md" "$res/index.md"
