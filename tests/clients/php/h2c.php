<?php
// php h2c.php URL KEY SERVICE
// The example client with CURLOPT_HTTP_VERSION = CURL_HTTP_VERSION_2_0 on an http:// URL, as
// resellers' scripts set it: cURL then offers "Upgrade: h2c" with every request. Prints, as
// JSON, each answer and the HTTP version cURL says it came in.
error_reporting(E_ALL);
set_error_handler(function ($no, $str, $file, $line) {
    fwrite(STDERR, "PHP error: $str at $file:$line\n");
    exit(3);
});
require __DIR__ . '/Api.php';

[$self, $url, $key, $service] = $argv;
$api = new Api();
$api->api_url = $url;
$api->api_key = $key;
$api->http_version = CURL_HTTP_VERSION_2_0;

$out = [];
$out['balance'] = $api->balance();
$out['versions'][] = $api->last_http_version;
$out['order'] = $api->order(['service' => (int)$service, 'link' => 'https://php.test/h2c', 'quantity' => 100]);
$out['versions'][] = $api->last_http_version;
$out['status'] = $api->status($out['order']->order);
$out['versions'][] = $api->last_http_version;
$out['wrong_key'] = (new Api());
$out['wrong_key']->api_url = $url;
$out['wrong_key']->api_key = 'not-' . $key;
$out['wrong_key']->http_version = CURL_HTTP_VERSION_2_0;
$out['wrong_key'] = $out['wrong_key']->balance();
$out['http_1_1'] = CURL_HTTP_VERSION_1_1;
echo json_encode($out), "\n";
