/* Keeps the test support library non-empty while tests/support has no other sources. */
typedef int fota_test_support_empty_t;
