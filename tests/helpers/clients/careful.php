<?php
// A careful API v2 client in PHP (cURL, as the panels' own example client): before it sends an add
// again it asks whether the first one was placed (the balance tells), honours Retry-After, and keeps
// the order id as the panel spells it. Run by tests/gauntlet/test_gauntlet.py through the gauntlet.

$url = getenv('MOCKPANEL_URL');
$key = getenv('MOCKPANEL_KEY');

// [status, decoded JSON or null, unknown]: unknown when the request may still reach the panel.
function call(array $fields): array {
    global $url, $key;
    $ch = curl_init($url);
    curl_setopt_array($ch, [CURLOPT_POST => 1, CURLOPT_POSTFIELDS => http_build_query(['key' => $key] + $fields),
        CURLOPT_RETURNTRANSFER => 1, CURLOPT_TIMEOUT => 5, CURLOPT_HEADER => 1]);
    $raw = curl_exec($ch);
    if ($raw === false) { return [0, null, true]; }
    $status = curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
    $body = substr($raw, curl_getinfo($ch, CURLINFO_HEADER_SIZE));
    if ($status == 429 && preg_match('/^retry-after:\s*(\d+)/mi', $raw, $m)) { sleep((int) $m[1]); }
    return [$status, $status == 200 ? json_decode($body, true) : null, false];
}

function patiently(array $fields) {
    for ($i = 0; $i < 10; $i++) {
        [$status, $json] = call($fields);
        if ($json !== null) { return $json; }
        usleep(300000);
    }
    fwrite(STDERR, "no answer to {$fields['action']}\n");
    exit(1);
}

function balance(): float { $b = patiently(['action' => 'balance']); return (float) ($b['balance'] ?? 0); }

$services = patiently(['action' => 'services']);
$service = null;
foreach ($services as $s) { if (stripos((string) ($s['type'] ?? 'default'), 'default') !== false) { $service = $s; break; } }
$fields = ['action' => 'add', 'service' => $service['service'], 'link' => 'https://instagram.com/p/gauntlet-php',
           'quantity' => max((int) $service['min'], min(100, (int) $service['max']))];
for ($try = 0; $try < 5; $try++) {
    $before = balance();
    [$status, $json, $unknown] = call($fields);
    if (is_array($json) && isset($json['order'])) { echo "order {$json['order']}\n"; exit(0); }
    if (is_array($json) && isset($json['error'])) { fwrite(STDERR, "refused: {$json['error']}\n"); exit(1); }
    $until = microtime(true) + ($unknown ? 10 : 0.5);  // a timeout may still reach the panel: watch a while
    do {
        usleep(500000);
        if (balance() < $before) { echo "placed; its answer was lost\n"; exit(0); }
    } while (microtime(true) < $until);
}
fwrite(STDERR, "the add was never placed\n");
exit(1);
