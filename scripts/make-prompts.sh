#!/usr/bin/env bash
# Produce the IVR prompts as 8 kHz mono 16-bit PCM WAV files under
# assets/prompts/<lang>/<name>.wav with espeak-ng and sox
# (Debian packages: espeak-ng sox). The WAVs are committed, so the product
# needs no text-to-speech at run time; re-run this script after editing a
# text below, then commit the changed files.
#
# Languages: fr (voice fr-fr), en (voice en-gb), wo (Wolof). espeak-ng has no
# Wolof voice: the Wolof texts are read by the French voice, an approximation
# until a native speaker records them. Only the menu prompts exist in Wolof;
# the flows declare `fallback: {wo: fr}` so everything else (and the number
# words of "say value") plays in French.
#
# Word prompts (num_*, month_*, currency_*, ...) are the vocabulary of the
# `say` node (crates/ivr/src/say.rs): keep both lists in step.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=assets/prompts
command -v espeak-ng >/dev/null || { echo "need espeak-ng (apt-get install espeak-ng)" >&2; exit 1; }
command -v sox >/dev/null || { echo "need sox (apt-get install sox)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# say LANG VOICE NAME TEXT [word]
say() {
  local lang=$1 voice=$2 name=$3 text=$4 kind=${5:-sentence}
  mkdir -p "$OUT/$lang"
  espeak-ng -v "$voice" -s 155 -w "$TMP/raw.wav" -- "$text"
  if [ "$kind" = word ]; then
    # Words are concatenated by "say value": trim the silence around them.
    sox -D "$TMP/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$lang/$name.wav" gain -n -3 \
      silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.04
  else
    sox -D "$TMP/raw.wav" -r 8000 -c 1 -b 16 -e signed-integer "$OUT/$lang/$name.wav" gain -n -3
  fi
}

# ---- sentences: name | French | English ----
while IFS='|' read -r name fr en; do
  [ -z "$name" ] && continue
  say fr fr-fr "$name" "$fr"
  say en en-gb "$name" "$en"
done <<'TEXTS'
welcome|Bienvenue chez Démo Télécom.|Welcome to Demo Telecom.
lang_fr|Pour le français, tapez 1.|For French, press 1.
lang_en|Pour l'anglais, tapez 2.|For English, press 2.
lang_wo|Pour le wolof, tapez 3.|For Wolof, press 3.
main_menu|Pour obtenir votre code PUK, tapez 1. Pour vos trois dernières recharges, tapez 2. Pour votre solde, tapez 3. Pour parler à un conseiller, tapez 9.|For your PUK code, press 1. For your last three top-ups, press 2. For your balance, press 3. To speak to an advisor, press 9.
invalid_choice|Ce choix n'est pas valide.|That choice is not valid.
no_input|Nous n'avons rien entendu.|We did not hear anything.
unavailable|Notre service vocal est momentanément indisponible. Vous pouvez nous écrire par SMS, WhatsApp ou Messenger. Nous vous envoyons les adresses par SMS. Au revoir.|Our voice service is unavailable at the moment. You can write to us by SMS, WhatsApp or Messenger. We are sending you the addresses by SMS. Goodbye.
sorry_technical|Nous sommes désolés, ce service rencontre un problème technique. Veuillez réessayer plus tard.|We are sorry, this service has a technical problem. Please try again later.
puk_enter_id|Pour votre sécurité, tapez les quatre derniers chiffres de votre pièce d'identité, puis la touche dièse.|For your security, enter the last four digits of your identity document, then the hash key.
puk_is|Votre code PUK est :|Your PUK code is:
puk_mismatch|Les chiffres saisis ne correspondent pas à notre dossier.|The digits you entered do not match our records.
recharges_intro|Voici vos dernières recharges.|Here are your latest top-ups.
no_recharges|Nous ne trouvons aucune recharge récente sur votre ligne.|We find no recent top-up on your line.
on_date|le|on
balance_is|Votre solde principal est de|Your main balance is
back_to_menu|Retour au menu principal.|Back to the main menu.
callback_offer|Pour être rappelé sans perdre votre place, tapez étoile.|To be called back without losing your place, press star.
callback_confirmed|C'est noté. Un conseiller vous rappellera à ce numéro dès que votre tour viendra. Au revoir.|Thank you. An advisor will call you back on this number when your turn comes. Goodbye.
advisor_channels|Pour être contacté par SMS, tapez 1. Par WhatsApp, tapez 2. Par Messenger, tapez 3. Pour parler à un conseiller au téléphone, tapez 4.|To be contacted by SMS, press 1. By WhatsApp, press 2. By Messenger, press 3. To speak to an advisor on the phone, press 4.
advisor_will_write|Un conseiller va vous écrire dans quelques secondes. Au revoir.|An advisor will write to you within seconds. Goodbye.
please_hold|Merci de patienter, nous vous mettons en relation avec un conseiller.|Please hold, we are connecting you to an advisor.
queue_position|Vous êtes en position|You are number
queue_position_end|dans la file d'attente. Merci de patienter.|in the queue. Please hold.
goodbye|Merci de votre appel. Au revoir.|Thank you for calling. Goodbye.
TEXTS

# ---- words of "say value": name | French | English ----
fr_units=(zéro un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze seize dix-sept dix-huit dix-neuf vingt)
en_units=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty)
for n in $(seq 0 20); do
  say fr fr-fr "num_$n" "${fr_units[$n]}" word
  say en en-gb "num_$n" "${en_units[$n]}" word
done
while IFS='|' read -r name fr en; do
  [ -z "$name" ] && continue
  [ -n "$fr" ] && say fr fr-fr "$name" "$fr" word
  [ -n "$en" ] && say en en-gb "$name" "$en" word
done <<'WORDS'
num_30|trente|thirty
num_40|quarante|forty
num_50|cinquante|fifty
num_60|soixante|sixty
num_70||seventy
num_80|quatre-vingt|eighty
num_90||ninety
num_100|cent|hundred
num_1000|mille|thousand
num_million|million|million
num_millions|millions|
num_and|et|
num_minus|moins|minus
and|et|and
cents|centimes|cents
date_first|premier|
month_1|janvier|January
month_2|février|February
month_3|mars|March
month_4|avril|April
month_5|mai|May
month_6|juin|June
month_7|juillet|July
month_8|août|August
month_9|septembre|September
month_10|octobre|October
month_11|novembre|November
month_12|décembre|December
currency_xof|francs CFA|CFA francs
currency_eur|euros|euros
currency_usd|dollars|dollars
WORDS

# ---- Wolof menu prompts, read by the French voice (no Wolof voice in espeak-ng) ----
while IFS='|' read -r name wo; do
  [ -z "$name" ] && continue
  say wo fr-fr "$name" "$wo"
done <<'WOLOF'
welcome|Dalal ak jàmm ci Démo Télécom.
lang_wo|Ngir wolof, bësal ñett.
main_menu|Ngir sa code PUK, bësal benn. Ngir sa ñetti recharge yu mujj, bësal ñaar. Ngir sa solde, bësal ñett. Ngir wax ak ab conseiller, bësal juróom ñeent.
invalid_choice|Li nga bës baaxul.
no_input|Dégguñu dara.
advisor_channels|Ngir SMS, bësal benn. Ngir WhatsApp, bësal ñaar. Ngir Messenger, bësal ñett. Ngir wax ak ab conseiller ci telefon, bësal ñeent.
advisor_will_write|Ab conseiller dina la bind ci ay saa yu gàtt. Ba beneen yoon.
please_hold|Muñal tuuti, dinañu la jokkoo ak ab conseiller.
unavailable|Sunu serwiis bi jàppul fi mu nekk. Bindal nu ci SMS, WhatsApp walla Messenger. Dinañu la yónnee adrees yi ci SMS. Ba beneen yoon.
WOLOF

echo "prompts: $(find "$OUT" -name '*.wav' | wc -l) files, $(du -sh "$OUT" | cut -f1)"
