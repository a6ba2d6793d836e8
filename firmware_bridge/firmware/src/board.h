/* Pin map of the gate controller (Arduino Nano / Uno pin names in brackets). Change here, nowhere else.
 *
 *   PD0/PD1  [D0/D1]   USART0: the link to the gateway (115200 8N1)
 *   PD2      [D2]      Wiegand reader A, DATA0 (INT0, falling edge = a 0 bit)
 *   PD3      [D3]      Wiegand reader A, DATA1 (INT1, falling edge = a 1 bit)
 *   PC0/PC1  [A0/A1]   Wiegand reader B, DATA0 / DATA1 (PCINT8/9)
 *   PD4      [D4]      door contact, pull-up: low = door closed, high = open (or wire cut)
 *   PD5      [D5]      exit button (request to exit), pull-up: low = pressed
 *   PD6      [D6]      tamper loop, pull-up: low = enclosure closed, high = opened (or wire cut)
 *   PD7      [D7]      RDM6300 TX (9600 8N1, received by a software UART: PCINT23 + Timer2)
 *   PB0      [D8]      relay 1 (door strike / turnstile), high = energised
 *   PB1      [D9]      relay 2
 *   PB2      [D10]     buzzer (active buzzer), high = sounding
 *   PB3/PB4/PB5 [D11/D12/D13]  LED red / green / blue, high = lit
 *
 * Outputs are active high through a transistor with a gate pull-down: while the MCU is in reset (pins
 * high-impedance) every relay is released; the firmware drives them low before main() (init.c).
 */
#ifndef BOARD_H
#define BOARD_H
#include <avr/io.h>

#define F_TICK_HZ 1000u

#define RELAY_PORT PORTB
#define RELAY_DDR DDRB
#define RELAY1_BIT PB0
#define RELAY2_BIT PB1
#define RELAY_MASK (_BV(RELAY1_BIT) | _BV(RELAY2_BIT))
#define BUZZER_BIT PB2
#define LED_R_BIT PB3
#define LED_G_BIT PB4
#define LED_B_BIT PB5
#define LED_MASK (_BV(LED_R_BIT) | _BV(LED_G_BIT) | _BV(LED_B_BIT))
#define OUTPUT_MASK (RELAY_MASK | _BV(BUZZER_BIT) | LED_MASK)

#define INPUT_PIN PIND
#define INPUT_PORT PORTD
#define INPUT_DDR DDRD
#define DOOR_BIT PD4
#define EXIT_BIT PD5
#define TAMPER_BIT PD6
#define INPUT_MASK (_BV(DOOR_BIT) | _BV(EXIT_BIT) | _BV(TAMPER_BIT))

#define WIEGAND_A_PIN PIND
#define WIEGAND_A_D0 PD2
#define WIEGAND_A_D1 PD3
#define WIEGAND_B_PIN PINC
#define WIEGAND_B_D0 PC0
#define WIEGAND_B_D1 PC1

#define SOFT_RX_PIN PIND
#define SOFT_RX_BIT PD7

#endif
