HTTP/1.1 200 OK
Access-Control-Allow-Origin: *
Server: Portico
Content-Type: application/json
Content-Length: {content-length}
---body---
{"lineInformation":{"lines":[{"lineId":"line1","msisdn":"{msisdn1:json}","email":"{email1:json}"},{"lineId":"line2","msisdn":"{msisdn2:json}","email":"{email2:json}"}]}}
