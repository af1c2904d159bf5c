<?php
// php call.php URL KEY METHOD [ARGS_JSON]
// Calls one method of Api (the panels' example client) and prints, as JSON, what
// PHP got back: the value, and its PHP types all the way down (object, array, ...),
// so a test can check that the answer decodes the way the example expects.
error_reporting(E_ALL);
set_error_handler(function ($no, $str, $file, $line) {
    fwrite(STDERR, "PHP error: $str at $file:$line\n");
    exit(3);
});
require __DIR__ . '/Api.php';

function describe($value)
{
    if (is_object($value)) {
        $out = [];
        foreach (get_object_vars($value) as $name => $item) {
            $out[(string)$name] = describe($item);
        }
        return ['object' => (object)$out];
    }
    if (is_array($value)) {
        $out = [];
        foreach ($value as $name => $item) {
            $out[] = [$name, describe($item)];
        }
        return ['array' => $out];
    }
    return gettype($value);
}

[$self, $url, $key, $method] = array_slice($argv, 0, 4);
$args = isset($argv[4]) ? json_decode($argv[4], true) : [];

$api = new Api();
$api->api_url = $url;
$api->api_key = $key;
$result = $api->$method(...$args);
echo json_encode(['type' => describe($result), 'value' => $result]), "\n";
