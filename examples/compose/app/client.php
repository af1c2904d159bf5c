<?php
// A minimal SMM panel client (API v2: one URL, form fields key and action, JSON back), run against the mock
// by compose.yaml. It places an order, waits for it to complete, and checks the balance paid for it.

$url = getenv('PANEL_URL') ?: 'http://mockpanel:8080/api/v2';
$key = getenv('PANEL_KEY') ?: 'test-key';

function call(string $url, string $key, array $fields): array
{
    $curl = curl_init($url);
    curl_setopt_array($curl, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => http_build_query(['key' => $key] + $fields),
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 10,
    ]);
    $body = curl_exec($curl);
    if ($body === false) {
        fwrite(STDERR, "request failed: " . curl_error($curl) . "\n");
        exit(1);
    }
    $answer = json_decode($body, true);
    if (!is_array($answer) || isset($answer['error'])) {
        fwrite(STDERR, "the panel answered: $body\n");
        exit(1);
    }
    return $answer;
}

$before = call($url, $key, ['action' => 'balance'])['balance'];
$order = call($url, $key, ['action' => 'add', 'service' => 1, 'link' => 'https://instagram.com/p/abc', 'quantity' => 1000])['order'];
echo "order $order placed, balance was $before\n";
for ($i = 0; $i < 60; $i++) {  // bounded: a minute at most
    $status = call($url, $key, ['action' => 'status', 'order' => $order])['status'];
    if ($status === 'Completed') {
        break;
    }
    sleep(1);
}
$after = call($url, $key, ['action' => 'balance'])['balance'];
echo "order $order: $status; balance $after\n";
// Charged: the balance went down (amounts are decimal strings; a float compares these well enough).
exit($status === 'Completed' && (float) $after < (float) $before ? 0 : 1);
